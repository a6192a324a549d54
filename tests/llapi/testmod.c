/* A client module of RedisAI's low-level API, loaded next to redisai-module by
 * tests/e2e/test_llapi.py. Each `llapitest.*` command drives one part of the API the way another
 * module would (RedisGears, a user's module) and replies what it saw, so the Python test states
 * the behaviour. API failures reply as an array: "error", the error code, the one-line text.
 */
#define REDISMODULE_MAIN
#include "llapi.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#define LLAPI_DEFINE(ret, name, params) ret(*RAI_##name) params = NULL;
LLAPI_FUNCTIONS(LLAPI_DEFINE)
#undef LLAPI_DEFINE

int llapi_import(RedisModuleCtx *ctx) {
    if (!RedisModule_GetSharedAPI) {
        RedisModule_Log(ctx, "warning", "this server has no shared API");
        return REDISMODULE_ERR;
    }
#define LLAPI_IMPORT(ret, name, params)                                                            \
    RAI_##name = (ret(*) params)RedisModule_GetSharedAPI(ctx, "RedisAI_" #name);                   \
    if (!RAI_##name) {                                                                             \
        RedisModule_Log(ctx, "warning", "RedisAI_%s is not exported", #name);                      \
        return REDISMODULE_ERR;                                                                    \
    }
    LLAPI_FUNCTIONS(LLAPI_IMPORT)
#undef LLAPI_IMPORT
    return RAI_GetLLAPIVersion() >= 1 ? REDISMODULE_OK : REDISMODULE_ERR;
}

/* ---- replies ---------------------------------------------------------------------------- */

static void reply_double(RedisModuleCtx *ctx, double v) {
    char buf[64];
    int n = snprintf(buf, sizeof buf, "%.17g", v);
    RedisModule_ReplyWithStringBuffer(ctx, buf, (size_t)n);
}

/* The tensor's elements (floating-point ones as doubles, integers as integers), or nil for no
 * tensor. */
static void reply_values(RedisModuleCtx *ctx, RAI_Tensor *t) {
    if (!t) {
        RedisModule_ReplyWithNull(ctx);
        return;
    }
    size_t n = RAI_TensorLength(t);
    RedisModule_ReplyWithArray(ctx, (long)n);
    for (size_t i = 0; i < n; i++) {
        double d = 0;
        long long v = 0;
        if (RAI_TensorGetValueAsDouble(t, (long long)i, &d))
            reply_double(ctx, d);
        else if (RAI_TensorGetValueAsLongLong(t, (long long)i, &v))
            RedisModule_ReplyWithLongLong(ctx, v);
        else
            RedisModule_ReplyWithNull(ctx);
    }
}

static void reply_api_error(RedisModuleCtx *ctx, RAI_Error *err) {
    const char *text = RAI_GetErrorOneLine(err);
    RedisModule_ReplyWithArray(ctx, 3);
    RedisModule_ReplyWithSimpleString(ctx, "error");
    RedisModule_ReplyWithLongLong(ctx, RAI_GetErrorCode(err));
    RedisModule_ReplyWithStringBuffer(ctx, text ? text : "", text ? strlen(text) : 0);
}

/* The tensor stored under `name` (borrowed from the key), or NULL. */
static RAI_Tensor *key_tensor(RedisModuleCtx *ctx, RedisModuleString *name) {
    RedisModuleKey *key = RedisModule_OpenKey(ctx, name, REDISMODULE_READ);
    RAI_Tensor *t = NULL;
    if (key && RedisModule_ModuleTypeGetType(key) == RAI_TensorRedisType())
        t = RedisModule_ModuleTypeGetValue(key);
    if (key)
        RedisModule_CloseKey(key);
    return t;
}

/* Stores `t` (which the key owns from then on) under `name`. */
static int store_value(RedisModuleCtx *ctx, RedisModuleString *name, RedisModuleType *type,
                       void *value) {
    RedisModuleKey *key = RedisModule_OpenKey(ctx, name, REDISMODULE_READ | REDISMODULE_WRITE);
    int rc = RedisModule_ModuleTypeSetValue(key, type, value);
    RedisModule_CloseKey(key);
    return rc;
}

/* The tensors named by argv[from..argc), or an error reply (0). */
static int key_tensors(RedisModuleCtx *ctx, RedisModuleString **argv, int from, int argc,
                       RAI_Tensor **out) {
    for (int i = from; i < argc; i++) {
        out[i - from] = key_tensor(ctx, argv[i]);
        if (!out[i - from]) {
            RedisModule_ReplyWithError(ctx, "ERR llapitest: not a tensor key");
            return 0;
        }
    }
    return 1;
}

#define MAX_INPUTS 8

/* The model (or script) named by argv[1] and the tensors named by argv[from..argc); 0 when one
 * is missing (and the error replied). */
static int model_and_inputs(RedisModuleCtx *ctx, RedisModuleString **argv, int from, int argc,
                            RAI_Model **model, RAI_Tensor **inputs) {
    RAI_Error *err;
    RAI_InitError(&err);
    int found = RAI_GetModelFromKeyspace(ctx, argv[1], model, REDISMODULE_READ, err) == 0;
    if (!found)
        reply_api_error(ctx, err);
    RAI_FreeError(err);
    return found && key_tensors(ctx, argv, from, argc, inputs);
}

static int script_and_inputs(RedisModuleCtx *ctx, RedisModuleString **argv, int from, int argc,
                             RAI_Script **script, RAI_Tensor **inputs) {
    RAI_Error *err;
    RAI_InitError(&err);
    int found = RAI_GetScriptFromKeyspace(ctx, argv[1], script, REDISMODULE_READ, err) == 0;
    if (!found)
        reply_api_error(ctx, err);
    RAI_FreeError(err);
    return found && key_tensors(ctx, argv, from, argc, inputs);
}

/* ---- llapitest.version ------------------------------------------------------------------ */

static int cmd_version(RedisModuleCtx *ctx, RedisModuleString **argv, int argc) {
    REDISMODULE_NOT_USED(argv);
    if (argc != 1)
        return RedisModule_WrongArity(ctx);
    return RedisModule_ReplyWithLongLong(ctx, RAI_GetLLAPIVersion());
}

/* ---- llapitest.tensors: the tensor functions, checked one by one ------------------------- */

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond))                                                                               \
            return RedisModule_ReplyWithError(ctx, "ERR check failed: " #cond);                    \
    } while (0)

static int cmd_tensors(RedisModuleCtx *ctx, RedisModuleString **argv, int argc) {
    REDISMODULE_NOT_USED(argv);
    if (argc != 1)
        return RedisModule_WrongArity(ctx);
    long long dims[] = {2, 3};
    CHECK(RAI_TensorCreate("NOSUCHTYPE", dims, 2) == NULL);
    long long negative[] = {2, -1};
    CHECK(RAI_TensorCreate("FLOAT", negative, 2) == NULL);

    RAI_Tensor *t = RAI_TensorCreate("FLOAT", dims, 2);
    CHECK(t != NULL);
    CHECK(RAI_TensorLength(t) == 6 && RAI_TensorDataSize(t) == 4 && RAI_TensorByteSize(t) == 24);
    CHECK(RAI_TensorNumDims(t) == 2 && RAI_TensorDim(t, 0) == 2 && RAI_TensorDim(t, 1) == 3);
    double d = -1;
    CHECK(RAI_TensorGetValueAsDouble(t, 5, &d) == 1 && d == 0);
    CHECK(RAI_TensorGetValueAsDouble(t, 6, &d) == 0);
    CHECK(RAI_TensorSetValueFromDouble(t, 4, 2.5) == 1);
    CHECK(RAI_TensorGetValueAsDouble(t, 4, &d) == 1 && d == 2.5);
    /* Written through the data pointer, read through the accessors. */
    float *data = (float *)RAI_TensorData(t);
    CHECK(data != NULL && data[4] == 2.5f);
    data[0] = 7;
    CHECK(RAI_TensorGetValueAsDouble(t, 0, &d) == 1 && d == 7);

    /* A shallow copy is the same tensor; each reference is freed on its own. */
    RAI_Tensor *copy = RAI_TensorGetShallowCopy(t);
    CHECK(copy != NULL && RAI_TensorGetValueAsDouble(copy, 0, &d) == 1 && d == 7);
    RAI_TensorFree(copy);

    /* SetData validates as AI.TENSORSET BLOB does and leaves the tensor alone when refused. */
    float rows[6] = {1, 2, 3, 4, 5, 6};
    CHECK(RAI_TensorSetData(t, (const char *)rows, 5) == 0);
    CHECK(RAI_TensorGetValueAsDouble(t, 0, &d) == 1 && d == 7);
    CHECK(RAI_TensorSetData(t, (const char *)rows, sizeof rows) == 1);
    CHECK(RAI_TensorGetValueAsDouble(t, 5, &d) == 1 && d == 6);

    /* Slices and concatenations along dim 0. */
    RAI_Tensor *row = RAI_TensorCreateBySlicingTensor(t, 1, 1);
    CHECK(row != NULL && RAI_TensorDim(row, 0) == 1 && RAI_TensorDim(row, 1) == 3);
    CHECK(RAI_TensorGetValueAsDouble(row, 0, &d) == 1 && d == 4);
    CHECK(RAI_TensorCreateBySlicingTensor(t, 1, 2) == NULL);
    RAI_Tensor *parts[] = {t, row};
    RAI_Tensor *joined = RAI_TensorCreateByConcatenatingTensors(parts, 2);
    CHECK(joined != NULL && RAI_TensorDim(joined, 0) == 3 && RAI_TensorLength(joined) == 9);
    CHECK(RAI_TensorGetValueAsDouble(joined, 8, &d) == 1 && d == 6);
    RAI_TensorFree(joined);
    RAI_TensorFree(row);

    /* Integer tensors take and give long longs; a float tensor refuses them. */
    long long one[] = {3};
    RAI_Tensor *ints = RAI_TensorCreate("INT32", one, 1);
    long long v = 0;
    CHECK(RAI_TensorSetValueFromLongLong(ints, 2, -42) == 1);
    CHECK(RAI_TensorGetValueAsLongLong(ints, 2, &v) == 1 && v == -42);
    CHECK(RAI_TensorSetValueFromLongLong(t, 0, 1) == 0);
    RAI_Tensor *mixed[] = {t, ints};
    CHECK(RAI_TensorCreateByConcatenatingTensors(mixed, 2) == NULL);
    RAI_TensorFree(ints);
    RAI_TensorFree(t);

    /* BOOL and STRING data are validated. */
    long long four[] = {4};
    RAI_Tensor *bools = RAI_TensorCreate("BOOL", four, 1);
    unsigned char bad_bools[4] = {1, 0, 2, 0};
    CHECK(RAI_TensorSetData(bools, (const char *)bad_bools, 4) == 0);
    RAI_TensorFree(bools);
    long long two[] = {2};
    RAI_Tensor *strings = RAI_TensorCreate("STRING", two, 1);
    CHECK(RAI_TensorSetData(strings, "one\0", 4) == 0);
    CHECK(RAI_TensorSetData(strings, "one\0two\0", 8) == 1);
    CHECK(memcmp(RAI_TensorData(strings), "one\0two\0", 8) == 0);
    RAI_TensorFree(strings);

    /* A key's value is an API tensor, of the type the API names. */
    CHECK(RAI_TensorRedisType() != NULL && RAI_TensorRedisType() != RAI_ModelRedisType());
    return RedisModule_ReplyWithSimpleString(ctx, "OK");
}

/* ---- llapitest.store key / llapitest.get key: API tensors as key values ------------------ */

static int cmd_store(RedisModuleCtx *ctx, RedisModuleString **argv, int argc) {
    if (argc != 2)
        return RedisModule_WrongArity(ctx);
    long long dims[] = {2, 2};
    RAI_Tensor *t = RAI_TensorCreate("DOUBLE", dims, 2);
    double *data = (double *)RAI_TensorData(t);
    for (int i = 0; i < 4; i++)
        data[i] = 0.5 * (i + 1);
    if (store_value(ctx, argv[1], RAI_TensorRedisType(), t) != REDISMODULE_OK) {
        RAI_TensorFree(t);
        return RedisModule_ReplyWithError(ctx, "ERR llapitest: could not store");
    }
    RedisModule_ReplicateVerbatim(ctx);
    return RedisModule_ReplyWithSimpleString(ctx, "OK");
}

static int cmd_get(RedisModuleCtx *ctx, RedisModuleString **argv, int argc) {
    if (argc != 2)
        return RedisModule_WrongArity(ctx);
    RAI_Tensor *t = key_tensor(ctx, argv[1]);
    if (!t)
        return RedisModule_ReplyWithError(ctx, "ERR llapitest: not a tensor key");
    int n = RAI_TensorNumDims(t);
    RedisModule_ReplyWithArray(ctx, 2);
    RedisModule_ReplyWithArray(ctx, n);
    for (int i = 0; i < n; i++)
        RedisModule_ReplyWithLongLong(ctx, RAI_TensorDim(t, i));
    reply_values(ctx, t);
    return REDISMODULE_OK;
}

/* ---- llapitest.modelrun model out in... (synchronous, output stored under `out`) ---------- */

static int cmd_modelrun(RedisModuleCtx *ctx, RedisModuleString **argv, int argc) {
    if (argc < 3 || argc - 3 > MAX_INPUTS)
        return RedisModule_WrongArity(ctx);
    RAI_Model *model = NULL;
    RAI_Tensor *inputs[MAX_INPUTS];
    if (!model_and_inputs(ctx, argv, 3, argc, &model, inputs))
        return REDISMODULE_OK;
    RAI_Error *err;
    RAI_InitError(&err);
    RAI_ModelRunCtx *mctx = RAI_ModelRunCtxCreate(model);
    for (int i = 0; i < argc - 3; i++)
        RAI_ModelRunCtxAddInput(mctx, "unused", inputs[i]);
    RAI_ModelRunCtxAddOutput(mctx, "unused");
    RAI_Tensor *out = NULL;
    if (RAI_ModelRun(&mctx, 1, err) != REDISMODULE_OK) {
        reply_api_error(ctx, err);
    } else if ((out = RAI_ModelRunCtxOutputTensor(mctx, 0)) == NULL) {
        RedisModule_ReplyWithError(ctx, "ERR llapitest: the run gave no output");
    } else {
        RAI_Tensor *copy = RAI_TensorGetShallowCopy(out);
        if (store_value(ctx, argv[2], RAI_TensorRedisType(), copy) != REDISMODULE_OK)
            RAI_TensorFree(copy);
        reply_values(ctx, out);
    }
    RAI_ModelRunCtxFree(mctx);
    RAI_FreeError(err);
    return REDISMODULE_OK;
}

/* ---- llapitest.batchrun model in1 in2: two runs of one model as one batch (x*x each) ----- */

static int cmd_batchrun(RedisModuleCtx *ctx, RedisModuleString **argv, int argc) {
    if (argc != 4)
        return RedisModule_WrongArity(ctx);
    RAI_Model *model = NULL;
    RAI_Tensor *inputs[MAX_INPUTS];
    if (!model_and_inputs(ctx, argv, 2, argc, &model, inputs))
        return REDISMODULE_OK;
    RAI_Error *err;
    RAI_InitError(&err);
    RAI_ModelRunCtx *runs[2];
    for (int i = 0; i < 2; i++) {
        runs[i] = RAI_ModelRunCtxCreate(model);
        RAI_ModelRunCtxAddInput(runs[i], "a", inputs[i]);
        RAI_ModelRunCtxAddInput(runs[i], "b", inputs[i]);
        RAI_ModelRunCtxAddOutput(runs[i], "c");
    }
    if (RAI_ModelRun(runs, 2, err) != REDISMODULE_OK) {
        reply_api_error(ctx, err);
    } else {
        RedisModule_ReplyWithArray(ctx, 3);
        for (int i = 0; i < 2; i++)
            reply_values(ctx, RAI_ModelRunCtxOutputTensor(runs[i], 0));
        /* and a batch of no runs */
        RAI_ClearError(err);
        RAI_ModelRun(runs, 0, err);
        reply_api_error(ctx, err);
    }
    for (int i = 0; i < 2; i++)
        RAI_ModelRunCtxFree(runs[i]);
    RAI_FreeError(err);
    return REDISMODULE_OK;
}

/* ---- async runs, waited for on the main thread (as RedisAI's own test module does) -------- */

static pthread_mutex_t wait_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wait_cond = PTHREAD_COND_INITIALIZER;

typedef struct Finished {
    int done;
    int on_caller_thread;
    pthread_t caller;
    RAI_Error *err;      /* the run's error, if any */
    RAI_Error *mismatch; /* what asking for the other kind of run context said */
} Finished;

static void finished_init(Finished *f) {
    memset(f, 0, sizeof *f);
    f->caller = pthread_self();
    RAI_InitError(&f->err);
    RAI_InitError(&f->mismatch);
}

static void finished_free(Finished *f) {
    RAI_FreeError(f->err);
    RAI_FreeError(f->mismatch);
}

static void signal_done(Finished *f) {
    pthread_mutex_lock(&wait_lock);
    f->done = 1;
    pthread_cond_broadcast(&wait_cond);
    pthread_mutex_unlock(&wait_lock);
}

static void wait_done(Finished *f) {
    pthread_mutex_lock(&wait_lock);
    while (!f->done)
        pthread_cond_wait(&wait_cond, &wait_lock);
    pthread_mutex_unlock(&wait_lock);
}

static void on_model_done(RAI_OnFinishCtx *fctx, void *private_data) {
    Finished *f = private_data;
    f->on_caller_thread = pthread_equal(pthread_self(), f->caller);
    RAI_GetAsScriptRunCtx(fctx, f->mismatch);
    RAI_GetAsModelRunCtx(fctx, f->err);
    signal_done(f);
}

static void on_script_done(RAI_OnFinishCtx *fctx, void *private_data) {
    Finished *f = private_data;
    f->on_caller_thread = pthread_equal(pthread_self(), f->caller);
    RAI_GetAsModelRunCtx(fctx, f->mismatch);
    RAI_GetAsScriptRunCtx(fctx, f->err);
    signal_done(f);
}

/* [values of output 0 or the error array, the mismatch text, on the caller's thread?] */
static void reply_finished(RedisModuleCtx *ctx, Finished *f, RAI_Tensor *out) {
    RedisModule_ReplyWithArray(ctx, 3);
    if (RAI_GetErrorCode(f->err) != LLAPI_OK)
        reply_api_error(ctx, f->err);
    else
        reply_values(ctx, out);
    const char *mismatch = RAI_GetError(f->mismatch);
    RedisModule_ReplyWithStringBuffer(ctx, mismatch ? mismatch : "", mismatch ? strlen(mismatch) : 0);
    RedisModule_ReplyWithLongLong(ctx, f->on_caller_thread);
}

/* llapitest.modelasync model in... */
static int cmd_modelasync(RedisModuleCtx *ctx, RedisModuleString **argv, int argc) {
    if (argc < 2 || argc - 2 > MAX_INPUTS)
        return RedisModule_WrongArity(ctx);
    RAI_Tensor *inputs[MAX_INPUTS];
    RedisModuleKey *key = RedisModule_OpenKey(ctx, argv[1], REDISMODULE_READ);
    if (!key || RedisModule_ModuleTypeGetType(key) != RAI_ModelRedisType()) {
        if (key)
            RedisModule_CloseKey(key);
        return RedisModule_ReplyWithError(ctx, "ERR llapitest: not a model key");
    }
    RAI_Model *model = RedisModule_ModuleTypeGetValue(key);
    RedisModule_CloseKey(key);
    if (!key_tensors(ctx, argv, 2, argc, inputs))
        return REDISMODULE_OK;
    RAI_ModelRunCtx *mctx = RAI_ModelRunCtxCreate(model);
    for (int i = 0; i < argc - 2; i++)
        RAI_ModelRunCtxAddInput(mctx, "unused", inputs[i]);
    RAI_ModelRunCtxAddOutput(mctx, "unused");
    Finished f;
    finished_init(&f);
    if (RAI_ModelRunAsync(mctx, on_model_done, &f) != REDISMODULE_OK) {
        RedisModule_ReplyWithError(ctx, "ERR llapitest: the run did not start");
    } else {
        wait_done(&f);
        reply_finished(ctx, &f, RAI_ModelRunCtxOutputTensor(mctx, 0));
    }
    RAI_ModelRunCtxFree(mctx);
    finished_free(&f);
    return REDISMODULE_OK;
}

/* llapitest.scriptasync script function in... */
static int cmd_scriptasync(RedisModuleCtx *ctx, RedisModuleString **argv, int argc) {
    if (argc < 3 || argc - 3 > MAX_INPUTS)
        return RedisModule_WrongArity(ctx);
    RAI_Script *script = NULL;
    RAI_Tensor *inputs[MAX_INPUTS];
    if (!script_and_inputs(ctx, argv, 3, argc, &script, inputs))
        return REDISMODULE_OK;
    RAI_ScriptRunCtx *sctx =
        RAI_ScriptRunCtxCreate(script, RedisModule_StringPtrLen(argv[2], NULL));
    /* The first tensor alone, the rest as a list. */
    if (argc > 3)
        RAI_ScriptRunCtxAddTensorInput(sctx, inputs[0]);
    if (argc > 4)
        RAI_ScriptRunCtxAddTensorInputList(sctx, inputs + 1, (size_t)(argc - 4));
    RAI_ScriptRunCtxAddOutput(sctx);
    Finished f;
    finished_init(&f);
    if (RAI_ScriptRunAsync(sctx, on_script_done, &f) != REDISMODULE_OK) {
        RedisModule_ReplyWithError(ctx, "ERR llapitest: the run did not start");
    } else {
        wait_done(&f);
        reply_finished(ctx, &f, RAI_ScriptRunCtxOutputTensor(sctx, 0));
    }
    RAI_ScriptRunCtxFree(sctx);
    finished_free(&f);
    return REDISMODULE_OK;
}

/* llapitest.scriptrun script function in...: synchronous */
static int cmd_scriptrun(RedisModuleCtx *ctx, RedisModuleString **argv, int argc) {
    if (argc < 3 || argc - 3 > MAX_INPUTS)
        return RedisModule_WrongArity(ctx);
    RAI_Script *script = NULL;
    RAI_Tensor *inputs[MAX_INPUTS];
    if (!script_and_inputs(ctx, argv, 3, argc, &script, inputs))
        return REDISMODULE_OK;
    RAI_Error *err;
    RAI_InitError(&err);
    RAI_ScriptRunCtx *sctx =
        RAI_ScriptRunCtxCreate(script, RedisModule_StringPtrLen(argv[2], NULL));
    for (int i = 0; i < argc - 3; i++)
        RAI_ScriptRunCtxAddInput(sctx, inputs[i], err);
    RAI_ScriptRunCtxAddOutput(sctx);
    if (RAI_ScriptRun(sctx, err) != REDISMODULE_OK)
        reply_api_error(ctx, err);
    else
        reply_values(ctx, RAI_ScriptRunCtxOutputTensor(sctx, 0));
    RAI_ScriptRunCtxFree(sctx);
    RAI_FreeError(err);
    return REDISMODULE_OK;
}

/* ---- llapitest.modelblocked model in...: an async run with the client blocked ------------- */

/* A run another client waits for while Redis serves the others: one of mctx and sctx is set. */
typedef struct Blocked {
    RedisModuleBlockedClient *bc;
    RAI_ModelRunCtx *mctx;
    RAI_ScriptRunCtx *sctx;
    RAI_Error *err;
} Blocked;

static void on_blocked_done(RAI_OnFinishCtx *fctx, void *private_data) {
    Blocked *b = private_data;
    if (b->mctx)
        RAI_GetAsModelRunCtx(fctx, b->err);
    else
        RAI_GetAsScriptRunCtx(fctx, b->err);
    RedisModule_UnblockClient(b->bc, b);
}

static int blocked_reply(RedisModuleCtx *ctx, RedisModuleString **argv, int argc) {
    REDISMODULE_NOT_USED(argv);
    REDISMODULE_NOT_USED(argc);
    Blocked *b = RedisModule_GetBlockedClientPrivateData(ctx);
    if (RAI_GetErrorCode(b->err) != LLAPI_OK)
        reply_api_error(ctx, b->err);
    else if (b->mctx)
        reply_values(ctx, RAI_ModelRunCtxOutputTensor(b->mctx, 0));
    else
        reply_values(ctx, RAI_ScriptRunCtxOutputTensor(b->sctx, 0));
    return REDISMODULE_OK;
}

static void blocked_free(RedisModuleCtx *ctx, void *private_data) {
    REDISMODULE_NOT_USED(ctx);
    Blocked *b = private_data;
    if (b->mctx)
        RAI_ModelRunCtxFree(b->mctx);
    if (b->sctx)
        RAI_ScriptRunCtxFree(b->sctx);
    RAI_FreeError(b->err);
    RedisModule_Free(b);
}

static int cmd_modelblocked(RedisModuleCtx *ctx, RedisModuleString **argv, int argc) {
    if (argc < 2 || argc - 2 > MAX_INPUTS)
        return RedisModule_WrongArity(ctx);
    RAI_Model *model = NULL;
    RAI_Tensor *inputs[MAX_INPUTS];
    if (!model_and_inputs(ctx, argv, 2, argc, &model, inputs))
        return REDISMODULE_OK;
    RAI_Error *err;
    RAI_InitError(&err);
    Blocked *b = RedisModule_Calloc(1, sizeof *b);
    b->err = err;
    b->mctx = RAI_ModelRunCtxCreate(model);
    for (int i = 0; i < argc - 2; i++)
        RAI_ModelRunCtxAddInput(b->mctx, "unused", inputs[i]);
    RAI_ModelRunCtxAddOutput(b->mctx, "unused");
    b->bc = RedisModule_BlockClient(ctx, blocked_reply, NULL, blocked_free, 0);
    if (RAI_ModelRunAsync(b->mctx, on_blocked_done, b) != REDISMODULE_OK) {
        RedisModule_AbortBlock(b->bc);
        blocked_free(ctx, b);
        return RedisModule_ReplyWithError(ctx, "ERR llapitest: the run did not start");
    }
    return REDISMODULE_OK;
}

/* llapitest.scriptblocked script function in...: the same for a script, which may call Redis
 * (the global lock is free while the client is blocked). */
static int cmd_scriptblocked(RedisModuleCtx *ctx, RedisModuleString **argv, int argc) {
    if (argc < 3 || argc - 3 > MAX_INPUTS)
        return RedisModule_WrongArity(ctx);
    RAI_Script *script = NULL;
    RAI_Tensor *inputs[MAX_INPUTS];
    if (!script_and_inputs(ctx, argv, 3, argc, &script, inputs))
        return REDISMODULE_OK;
    RAI_Error *err;
    RAI_InitError(&err);
    Blocked *b = RedisModule_Calloc(1, sizeof *b);
    b->err = err;
    b->sctx = RAI_ScriptRunCtxCreate(script, RedisModule_StringPtrLen(argv[2], NULL));
    for (int i = 0; i < argc - 3; i++)
        RAI_ScriptRunCtxAddTensorInput(b->sctx, inputs[i]);
    RAI_ScriptRunCtxAddOutput(b->sctx);
    b->bc = RedisModule_BlockClient(ctx, blocked_reply, NULL, blocked_free, 0);
    if (RAI_ScriptRunAsync(b->sctx, on_blocked_done, b) != REDISMODULE_OK) {
        RedisModule_AbortBlock(b->bc);
        blocked_free(ctx, b);
        return RedisModule_ReplyWithError(ctx, "ERR llapitest: the run did not start");
    }
    return REDISMODULE_OK;
}

/* ---- DAGs ------------------------------------------------------------------------------- */

static void on_dag_done(RAI_OnFinishCtx *fctx, void *private_data) {
    REDISMODULE_NOT_USED(fctx);
    signal_done(private_data);
}

/* Runs `dag` and waits; replies [outputs, [values of each], error or nil]. */
static void run_dag_and_reply(RedisModuleCtx *ctx, RAI_DAGRunCtx *dag) {
    RAI_Error *err;
    RAI_InitError(&err);
    Finished f;
    finished_init(&f);
    if (RAI_DAGRun(dag, on_dag_done, &f, err) != REDISMODULE_OK) {
        reply_api_error(ctx, err);
    } else {
        wait_done(&f);
        /* The DAG is its own finish context. */
        RAI_OnFinishCtx *fctx = (RAI_OnFinishCtx *)dag;
        size_t n = RAI_DAGNumOutputs(fctx);
        RedisModule_ReplyWithArray(ctx, 3);
        RedisModule_ReplyWithLongLong(ctx, (long long)n);
        RedisModule_ReplyWithArray(ctx, (long)n);
        for (size_t i = 0; i < n; i++)
            reply_values(ctx, (RAI_Tensor *)RAI_DAGOutputTensor(fctx, i));
        if (RAI_DAGRunError(fctx)) {
            RAI_Error *copy;
            RAI_InitError(&copy);
            RAI_CloneError(copy, RAI_DAGGetError(fctx));
            reply_api_error(ctx, copy);
            RAI_FreeError(copy);
        } else {
            RedisModule_ReplyWithNull(ctx);
        }
    }
    finished_free(&f);
    RAI_FreeError(err);
}

/* llapitest.dag model script a b: LOAD a b, p = model(a, b), s = script.bar(p, a), GET p s. */
static int cmd_dag(RedisModuleCtx *ctx, RedisModuleString **argv, int argc) {
    if (argc != 5)
        return RedisModule_WrongArity(ctx);
    RAI_Error *err;
    RAI_InitError(&err);
    RAI_Model *model = NULL;
    RAI_Script *script = NULL;
    RAI_Tensor *inputs[2];
    if (RAI_GetModelFromKeyspace(ctx, argv[1], &model, REDISMODULE_READ, err) != REDISMODULE_OK ||
        RAI_GetScriptFromKeyspace(ctx, argv[2], &script, REDISMODULE_READ, err) !=
            REDISMODULE_OK) {
        reply_api_error(ctx, err);
        RAI_FreeError(err);
        return REDISMODULE_OK;
    }
    if (!key_tensors(ctx, argv, 3, argc, inputs)) {
        RAI_FreeError(err);
        return REDISMODULE_OK;
    }
    RAI_DAGRunCtx *dag = RAI_DAGRunCtxCreate();
    RAI_DAGLoadTensor(dag, "a", inputs[0]);
    RAI_DAGLoadTensor(dag, "b", inputs[1]);
    RAI_DAGRunOp *op = RAI_DAGCreateModelRunOp(model);
    RAI_DAGRunOpAddInput(op, "a");
    RAI_DAGRunOpAddInput(op, "b");
    RAI_DAGRunOpAddOutput(op, "p");
    /* A refused op stays ours. */
    int rc = RAI_DAGAddRunOp(dag, op, err);
    if (rc != REDISMODULE_OK)
        RAI_DAGRunOpFree(op);
    op = RAI_DAGCreateScriptRunOp(script, "bar");
    RAI_DAGRunOpAddInput(op, "p");
    RAI_DAGRunOpAddInput(op, "a");
    RAI_DAGRunOpAddOutput(op, "s");
    if (RAI_DAGAddRunOp(dag, op, err) != REDISMODULE_OK) {
        RAI_DAGRunOpFree(op);
        rc = REDISMODULE_ERR;
    }
    RAI_DAGAddTensorGet(dag, "p");
    RAI_DAGAddTensorGet(dag, "s");
    if (rc != REDISMODULE_OK)
        reply_api_error(ctx, err);
    else if (RAI_DAGNumOps(dag) != 4)
        RedisModule_ReplyWithError(ctx, "ERR llapitest: DAGNumOps is not 4");
    else
        run_dag_and_reply(ctx, dag);
    RAI_DAGFree(dag);
    RAI_FreeError(err);
    return REDISMODULE_OK;
}

/* llapitest.dagstring text [name key ...]: tensors loaded under names, then the ops of `text`. */
static int cmd_dagstring(RedisModuleCtx *ctx, RedisModuleString **argv, int argc) {
    if (argc < 2 || argc % 2 != 0)
        return RedisModule_WrongArity(ctx);
    RAI_DAGRunCtx *dag = RAI_DAGRunCtxCreate();
    for (int i = 2; i < argc; i += 2) {
        RAI_Tensor *t = key_tensor(ctx, argv[i + 1]);
        if (!t || RAI_DAGLoadTensor(dag, RedisModule_StringPtrLen(argv[i], NULL), t) != 0) {
            RAI_DAGFree(dag);
            return RedisModule_ReplyWithError(ctx, "ERR llapitest: could not load a tensor");
        }
    }
    RAI_Error *err;
    RAI_InitError(&err);
    if (RAI_DAGAddOpsFromString(dag, RedisModule_StringPtrLen(argv[1], NULL), err) != 0) {
        RedisModule_ReplyWithArray(ctx, 2);
        reply_api_error(ctx, err);
        RedisModule_ReplyWithLongLong(ctx, (long long)RAI_DAGNumOps(dag));
    } else {
        run_dag_and_reply(ctx, dag);
    }
    RAI_DAGFree(dag);
    RAI_FreeError(err);
    return REDISMODULE_OK;
}

/* llapitest.dagerrors model t: what building and running bad DAGs answers, in order. */
static int cmd_dagerrors(RedisModuleCtx *ctx, RedisModuleString **argv, int argc) {
    if (argc != 3)
        return RedisModule_WrongArity(ctx);
    RAI_Error *err;
    RAI_InitError(&err);
    RAI_Model *model = NULL;
    RAI_Tensor *t = key_tensor(ctx, argv[2]);
    if (!t || RAI_GetModelFromKeyspace(ctx, argv[1], &model, REDISMODULE_READ, err) != 0) {
        RAI_FreeError(err);
        return RedisModule_ReplyWithError(ctx, "ERR llapitest: needs a model and a tensor");
    }
    RedisModule_ReplyWithArray(ctx, REDISMODULE_POSTPONED_ARRAY_LEN);
    long replies = 0;
    Finished f;
    int refused;

    /* An empty DAG. */
    RAI_DAGRunCtx *dag = RAI_DAGRunCtxCreate();
    finished_init(&f);
    refused = RAI_DAGRun(dag, on_dag_done, &f, err);
    if (!refused)
        wait_done(&f); /* it ran after all: its callback has `f` */
    RedisModule_ReplyWithLongLong(ctx, refused);
    reply_api_error(ctx, err);
    replies += 2;
    finished_free(&f);

    /* A name loaded twice. */
    RAI_ClearError(err);
    RAI_DAGLoadTensor(dag, "x", t);
    RedisModule_ReplyWithLongLong(ctx, RAI_DAGLoadTensor(dag, "x", t));
    replies++;

    /* A model op with too few inputs: refused, and still the caller's. */
    RAI_DAGRunOp *op = RAI_DAGCreateModelRunOp(model);
    RAI_DAGRunOpAddInput(op, "x");
    RAI_DAGRunOpAddOutput(op, "y");
    RedisModule_ReplyWithLongLong(ctx, RAI_DAGAddRunOp(dag, op, err));
    reply_api_error(ctx, err);
    replies += 2;
    RAI_DAGRunOpAddInput(op, "x");
    RAI_ClearError(err);
    RedisModule_ReplyWithLongLong(ctx, RAI_DAGAddRunOp(dag, op, err));
    replies++;

    /* An op reading a name nothing made. */
    op = RAI_DAGCreateModelRunOp(model);
    RAI_DAGRunOpAddInput(op, "x");
    RAI_DAGRunOpAddInput(op, "nosuch");
    RAI_DAGRunOpAddOutput(op, "z");
    if (RAI_DAGAddRunOp(dag, op, err) != 0)
        RAI_DAGRunOpFree(op);
    finished_init(&f);
    refused = RAI_DAGRun(dag, on_dag_done, &f, err);
    if (!refused)
        wait_done(&f); /* it ran after all: its callback has `f` */
    RedisModule_ReplyWithLongLong(ctx, refused);
    reply_api_error(ctx, err);
    replies += 2;
    finished_free(&f);
    RAI_DAGFree(dag);

    /* Ops from a string that does not start with |>. */
    dag = RAI_DAGRunCtxCreate();
    RAI_ClearError(err);
    RedisModule_ReplyWithLongLong(ctx, RAI_DAGAddOpsFromString(dag, "AI.TENSORGET x", err));
    reply_api_error(ctx, err);
    replies += 2;
    RAI_DAGFree(dag);

    /* A DAG whose model fails at run time: the error reaches the finish context. */
    dag = RAI_DAGRunCtxCreate();
    long long dims[] = {1, 3};
    RAI_Tensor *wrong = RAI_TensorCreate("FLOAT", dims, 2);
    RAI_DAGAddTensorSet(dag, "w", wrong);
    RAI_TensorFree(wrong);
    op = RAI_DAGCreateModelRunOp(model);
    RAI_DAGRunOpAddInput(op, "w");
    RAI_DAGRunOpAddInput(op, "w");
    RAI_DAGRunOpAddOutput(op, "out");
    RAI_ClearError(err);
    if (RAI_DAGAddRunOp(dag, op, err) != 0)
        RAI_DAGRunOpFree(op);
    RAI_DAGAddTensorGet(dag, "out");
    run_dag_and_reply(ctx, dag);
    replies++;
    RAI_DAGFree(dag);

    RedisModule_ReplySetArrayLength(ctx, replies);
    RAI_FreeError(err);
    return REDISMODULE_OK;
}

/* ---- models and scripts made by the module itself --------------------------------------- */

/* llapitest.modelcreate key backend blob: an ONNX c = a*b model with inputs a, b, stored under
 * `key` and run once over [2 3] * [4 5]. */
static int cmd_modelcreate(RedisModuleCtx *ctx, RedisModuleString **argv, int argc) {
    if (argc != 4)
        return RedisModule_WrongArity(ctx);
    long long backend = 0;
    if (RedisModule_StringToLongLong(argv[2], &backend) != REDISMODULE_OK)
        return RedisModule_ReplyWithError(ctx, "ERR llapitest: backend is a number");
    size_t len;
    const char *blob = RedisModule_StringPtrLen(argv[3], &len);
    RAI_Error *err;
    RAI_InitError(&err);
    RAI_ModelOpts opts = {0};
    const char *inputs[] = {"a", "b"};
    const char *outputs[] = {"c"};
    RedisModuleString *tag = RedisModule_CreateString(ctx, "made-by-llapitest", 17);
    RAI_Model *model =
        RAI_ModelCreate((int)backend, "CPU", tag, opts, 2, inputs, 1, outputs, blob, len, err);
    RedisModule_FreeString(ctx, tag);
    if (!model) {
        reply_api_error(ctx, err);
        RAI_FreeError(err);
        return REDISMODULE_OK;
    }
    char *copy = NULL;
    size_t copy_len = 0;
    int same = RAI_ModelSerialize(model, &copy, &copy_len, err) == REDISMODULE_OK &&
               copy_len == len && memcmp(copy, blob, len) == 0;
    if (copy)
        RedisModule_Free(copy);

    long long dims[] = {1, 2};
    RAI_Tensor *a = RAI_TensorCreate("FLOAT", dims, 2);
    RAI_Tensor *b = RAI_TensorCreate("FLOAT", dims, 2);
    RAI_TensorSetValueFromDouble(a, 0, 2);
    RAI_TensorSetValueFromDouble(a, 1, 3);
    RAI_TensorSetValueFromDouble(b, 0, 4);
    RAI_TensorSetValueFromDouble(b, 1, 5);
    RAI_ModelRunCtx *mctx = RAI_ModelRunCtxCreate(model);
    RAI_ModelRunCtxAddInput(mctx, "a", a);
    RAI_ModelRunCtxAddInput(mctx, "b", b);
    RAI_ModelRunCtxAddOutput(mctx, "c");
    RAI_TensorFree(a);
    RAI_TensorFree(b);
    int ran = RAI_ModelRun(&mctx, 1, err) == REDISMODULE_OK;
    RedisModule_ReplyWithArray(ctx, 2);
    RedisModule_ReplyWithLongLong(ctx, same);
    if (ran)
        reply_values(ctx, RAI_ModelRunCtxOutputTensor(mctx, 0));
    else
        reply_api_error(ctx, err);
    RAI_ModelRunCtxFree(mctx);
    /* The key takes its own reference; ours goes. */
    store_value(ctx, argv[1], RAI_ModelRedisType(), RAI_ModelGetShallowCopy(model));
    RAI_ModelFree(model, err);
    RAI_FreeError(err);
    return REDISMODULE_OK;
}

/* llapitest.scriptcreate key source function: a script from source, stored under `key` and
 * run over [1 2] and [3 4]. */
static int cmd_scriptcreate(RedisModuleCtx *ctx, RedisModuleString **argv, int argc) {
    if (argc != 4)
        return RedisModule_WrongArity(ctx);
    RAI_Error *err;
    RAI_InitError(&err);
    RAI_Script *script = RAI_ScriptCreate("CPU", NULL, RedisModule_StringPtrLen(argv[2], NULL), err);
    if (!script) {
        reply_api_error(ctx, err);
        RAI_FreeError(err);
        return REDISMODULE_OK;
    }
    long long dims[] = {2};
    RAI_Tensor *x = RAI_TensorCreate("FLOAT", dims, 1);
    RAI_Tensor *y = RAI_TensorCreate("FLOAT", dims, 1);
    for (int i = 0; i < 2; i++) {
        RAI_TensorSetValueFromDouble(x, i, i + 1);
        RAI_TensorSetValueFromDouble(y, i, i + 3);
    }
    RAI_ScriptRunCtx *sctx =
        RAI_ScriptRunCtxCreate(script, RedisModule_StringPtrLen(argv[3], NULL));
    RAI_Tensor *both[] = {x, y};
    RAI_ScriptRunCtxAddInputList(sctx, both, 2, err);
    RAI_ScriptRunCtxAddOutput(sctx);
    RAI_TensorFree(x);
    RAI_TensorFree(y);
    if (RAI_ScriptRun(sctx, err) == REDISMODULE_OK)
        reply_values(ctx, RAI_ScriptRunCtxOutputTensor(sctx, 0));
    else
        reply_api_error(ctx, err);
    RAI_ScriptRunCtxFree(sctx);
    store_value(ctx, argv[1], RAI_ScriptRedisType(), RAI_ScriptGetShallowCopy(script));
    RAI_ScriptFree(script, err);
    RAI_FreeError(err);
    return REDISMODULE_OK;
}

/* ---- registration ----------------------------------------------------------------------- */

int RedisModule_OnLoad(RedisModuleCtx *ctx, RedisModuleString **argv, int argc) {
    REDISMODULE_NOT_USED(argv);
    REDISMODULE_NOT_USED(argc);
    if (RedisModule_Init(ctx, "llapitest", 1, REDISMODULE_APIVER_1) != REDISMODULE_OK)
        return REDISMODULE_ERR;
    if (llapi_import(ctx) != REDISMODULE_OK)
        return REDISMODULE_ERR;
    struct {
        const char *name;
        RedisModuleCmdFunc f;
        const char *flags;
        int first, last;
    } commands[] = {
        {"llapitest.version", cmd_version, "readonly", 0, 0},
        {"llapitest.tensors", cmd_tensors, "readonly", 0, 0},
        {"llapitest.store", cmd_store, "write deny-oom", 1, 1},
        {"llapitest.get", cmd_get, "readonly", 1, 1},
        {"llapitest.modelrun", cmd_modelrun, "write deny-oom", 1, -1},
        {"llapitest.batchrun", cmd_batchrun, "readonly", 1, -1},
        {"llapitest.modelasync", cmd_modelasync, "readonly", 1, -1},
        {"llapitest.modelblocked", cmd_modelblocked, "readonly", 1, -1},
        {"llapitest.scriptasync", cmd_scriptasync, "readonly", 1, 1},
        {"llapitest.scriptblocked", cmd_scriptblocked, "write deny-oom", 1, 1},
        {"llapitest.scriptrun", cmd_scriptrun, "readonly", 1, 1},
        {"llapitest.dag", cmd_dag, "readonly", 1, -1},
        {"llapitest.dagstring", cmd_dagstring, "readonly", 0, 0},
        {"llapitest.dagerrors", cmd_dagerrors, "readonly", 1, 2},
        {"llapitest.modelcreate", cmd_modelcreate, "write deny-oom", 1, 1},
        {"llapitest.scriptcreate", cmd_scriptcreate, "write deny-oom", 1, 1},
    };
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        int step = commands[i].first ? 1 : 0;
        if (RedisModule_CreateCommand(ctx, commands[i].name, commands[i].f, commands[i].flags,
                                      commands[i].first, commands[i].last,
                                      step) != REDISMODULE_OK)
            return REDISMODULE_ERR;
    }
    return REDISMODULE_OK;
}
