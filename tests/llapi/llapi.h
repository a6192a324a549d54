/* The low-level API redisai-module exports to other modules (RedisAI's LLAPI, version 1), as a
 * client module sees it: opaque objects and one function pointer per `RedisAI_<Name>` shared API
 * entry, imported by llapi_import(). Written for this repository's tests from the spec
 * (shared/spec/behavior.md §7); a module built against RedisAI's own redisai.h gets the same ABI.
 */
#ifndef REDISAI_RS_LLAPI_H
#define REDISAI_RS_LLAPI_H

#include <stddef.h>

#include "redismodule.h"

typedef struct RAI_Tensor RAI_Tensor;
typedef struct RAI_Model RAI_Model;
typedef struct RAI_Script RAI_Script;
typedef struct RAI_ModelRunCtx RAI_ModelRunCtx;
typedef struct RAI_ScriptRunCtx RAI_ScriptRunCtx;
typedef struct RAI_DAGRunCtx RAI_DAGRunCtx;
typedef struct RAI_DAGRunOp RAI_DAGRunOp;
typedef struct RAI_Error RAI_Error;
typedef struct RAI_OnFinishCtx RAI_OnFinishCtx;
typedef void (*RAI_OnFinishCB)(RAI_OnFinishCtx *ctx, void *private_data);

/* Passed by value to ModelCreate. */
typedef struct RAI_ModelOpts {
    size_t batchsize;
    size_t minbatchsize;
    size_t minbatchtimeout;
    long long intra_op_parallelism;
    long long inter_op_parallelism;
} RAI_ModelOpts;

enum { LLAPI_BACKEND_TF = 0, LLAPI_BACKEND_TFLITE = 1, LLAPI_BACKEND_TORCH = 2, LLAPI_BACKEND_ONNX = 3 };

/* Error codes (GetErrorCode). */
enum {
    LLAPI_OK = 0,
    LLAPI_EMODELCREATE = 3,
    LLAPI_EMODELRUN = 4,
    LLAPI_ESCRIPTCREATE = 9,
    LLAPI_ESCRIPTRUN = 10,
    LLAPI_EUNSUPPORTEDBACKEND = 11,
    LLAPI_EDAGBUILDER = 16,
    LLAPI_EDAGRUN = 17,
    LLAPI_EFINISHCTX = 18,
};

/* X(return type, name, parameters) for every function of the API. */
#define LLAPI_FUNCTIONS(X)                                                                         \
    X(int, InitError, (RAI_Error **))                                                              \
    X(void, ClearError, (RAI_Error *))                                                             \
    X(void, FreeError, (RAI_Error *))                                                              \
    X(const char *, GetError, (RAI_Error *))                                                       \
    X(const char *, GetErrorOneLine, (RAI_Error *))                                                \
    X(int, GetErrorCode, (RAI_Error *))                                                            \
    X(void, CloneError, (RAI_Error *, const RAI_Error *))                                          \
    X(int, GetLLAPIVersion, (void))                                                                \
    X(RAI_Tensor *, TensorCreate, (const char *, long long *, int))                                \
    X(RAI_Tensor *, TensorCreateByConcatenatingTensors, (RAI_Tensor **, long long))                \
    X(RAI_Tensor *, TensorCreateBySlicingTensor, (RAI_Tensor *, long long, long long))             \
    X(size_t, TensorLength, (RAI_Tensor *))                                                        \
    X(size_t, TensorDataSize, (RAI_Tensor *))                                                      \
    X(void, TensorFree, (RAI_Tensor *))                                                            \
    X(int, TensorSetData, (RAI_Tensor *, const char *, size_t))                                    \
    X(int, TensorSetValueFromLongLong, (RAI_Tensor *, long long, long long))                       \
    X(int, TensorSetValueFromDouble, (RAI_Tensor *, long long, double))                            \
    X(int, TensorGetValueAsDouble, (RAI_Tensor *, long long, double *))                            \
    X(int, TensorGetValueAsLongLong, (RAI_Tensor *, long long, long long *))                       \
    X(RAI_Tensor *, TensorGetShallowCopy, (RAI_Tensor *))                                          \
    X(int, TensorNumDims, (RAI_Tensor *))                                                          \
    X(long long, TensorDim, (RAI_Tensor *, int))                                                   \
    X(size_t, TensorByteSize, (RAI_Tensor *))                                                      \
    X(char *, TensorData, (RAI_Tensor *))                                                          \
    X(RedisModuleType *, TensorRedisType, (void))                                                  \
    X(RAI_Model *, ModelCreate,                                                                    \
      (int, const char *, RedisModuleString *, RAI_ModelOpts, size_t, const char **, size_t,       \
       const char **, const char *, size_t, RAI_Error *))                                          \
    X(void, ModelFree, (RAI_Model *, RAI_Error *))                                                 \
    X(RAI_ModelRunCtx *, ModelRunCtxCreate, (RAI_Model *))                                         \
    X(int, GetModelFromKeyspace,                                                                   \
      (RedisModuleCtx *, RedisModuleString *, RAI_Model **, int, RAI_Error *))                     \
    X(int, ModelRunCtxAddInput, (RAI_ModelRunCtx *, const char *, RAI_Tensor *))                   \
    X(int, ModelRunCtxAddOutput, (RAI_ModelRunCtx *, const char *))                                \
    X(size_t, ModelRunCtxNumOutputs, (RAI_ModelRunCtx *))                                          \
    X(RAI_Tensor *, ModelRunCtxOutputTensor, (RAI_ModelRunCtx *, size_t))                          \
    X(void, ModelRunCtxFree, (RAI_ModelRunCtx *))                                                  \
    X(int, ModelRun, (RAI_ModelRunCtx **, long long, RAI_Error *))                                 \
    X(RAI_Model *, ModelGetShallowCopy, (RAI_Model *))                                             \
    X(int, ModelSerialize, (RAI_Model *, char **, size_t *, RAI_Error *))                          \
    X(RedisModuleType *, ModelRedisType, (void))                                                   \
    X(int, ModelRunAsync, (RAI_ModelRunCtx *, RAI_OnFinishCB, void *))                             \
    X(RAI_ModelRunCtx *, GetAsModelRunCtx, (RAI_OnFinishCtx *, RAI_Error *))                       \
    X(RAI_Script *, ScriptCreate, (const char *, RedisModuleString *, const char *, RAI_Error *))  \
    X(int, GetScriptFromKeyspace,                                                                  \
      (RedisModuleCtx *, RedisModuleString *, RAI_Script **, int, RAI_Error *))                    \
    X(void, ScriptFree, (RAI_Script *, RAI_Error *))                                               \
    X(RAI_ScriptRunCtx *, ScriptRunCtxCreate, (RAI_Script *, const char *))                        \
    X(int, ScriptRunCtxAddInput, (RAI_ScriptRunCtx *, RAI_Tensor *, RAI_Error *))                  \
    X(int, ScriptRunCtxAddInputList, (RAI_ScriptRunCtx *, RAI_Tensor **, size_t, RAI_Error *))     \
    X(int, ScriptRunCtxAddTensorInput, (RAI_ScriptRunCtx *, RAI_Tensor *))                         \
    X(int, ScriptRunCtxAddTensorInputList, (RAI_ScriptRunCtx *, RAI_Tensor **, size_t))            \
    X(int, ScriptRunCtxAddOutput, (RAI_ScriptRunCtx *))                                            \
    X(size_t, ScriptRunCtxNumOutputs, (RAI_ScriptRunCtx *))                                        \
    X(RAI_Tensor *, ScriptRunCtxOutputTensor, (RAI_ScriptRunCtx *, size_t))                        \
    X(void, ScriptRunCtxFree, (RAI_ScriptRunCtx *))                                                \
    X(int, ScriptRun, (RAI_ScriptRunCtx *, RAI_Error *))                                           \
    X(RAI_Script *, ScriptGetShallowCopy, (RAI_Script *))                                          \
    X(RedisModuleType *, ScriptRedisType, (void))                                                  \
    X(int, ScriptRunAsync, (RAI_ScriptRunCtx *, RAI_OnFinishCB, void *))                           \
    X(RAI_ScriptRunCtx *, GetAsScriptRunCtx, (RAI_OnFinishCtx *, RAI_Error *))                     \
    X(RAI_DAGRunCtx *, DAGRunCtxCreate, (void))                                                    \
    X(RAI_DAGRunOp *, DAGCreateModelRunOp, (RAI_Model *))                                          \
    X(RAI_DAGRunOp *, DAGCreateScriptRunOp, (RAI_Script *, const char *))                          \
    X(int, DAGRunOpAddInput, (RAI_DAGRunOp *, const char *))                                       \
    X(int, DAGRunOpAddOutput, (RAI_DAGRunOp *, const char *))                                      \
    X(int, DAGAddRunOp, (RAI_DAGRunCtx *, RAI_DAGRunOp *, RAI_Error *))                            \
    X(int, DAGLoadTensor, (RAI_DAGRunCtx *, const char *, RAI_Tensor *))                           \
    X(int, DAGAddTensorSet, (RAI_DAGRunCtx *, const char *, RAI_Tensor *))                         \
    X(int, DAGAddTensorGet, (RAI_DAGRunCtx *, const char *))                                       \
    X(int, DAGAddOpsFromString, (RAI_DAGRunCtx *, const char *, RAI_Error *))                      \
    X(size_t, DAGNumOps, (RAI_DAGRunCtx *))                                                        \
    X(int, DAGRun, (RAI_DAGRunCtx *, RAI_OnFinishCB, void *, RAI_Error *))                         \
    X(size_t, DAGNumOutputs, (RAI_OnFinishCtx *))                                                  \
    X(const RAI_Tensor *, DAGOutputTensor, (RAI_OnFinishCtx *, size_t))                            \
    X(int, DAGRunError, (RAI_OnFinishCtx *))                                                       \
    X(const RAI_Error *, DAGGetError, (RAI_OnFinishCtx *))                                         \
    X(void, DAGRunOpFree, (RAI_DAGRunOp *))                                                        \
    X(void, DAGFree, (RAI_DAGRunCtx *))

#define LLAPI_DECLARE(ret, name, params) extern ret(*RAI_##name) params;
LLAPI_FUNCTIONS(LLAPI_DECLARE)
#undef LLAPI_DECLARE

/* Imports every function; REDISMODULE_ERR (with a warning naming the first missing one) when
 * RedisAI is not loaded or its API is older than version 1. */
int llapi_import(RedisModuleCtx *ctx);

#endif
