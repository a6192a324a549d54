// The C++ side of the TORCH backend: what tch does not expose.
//
// - TorchScript *source* (AI.SCRIPTSTORE): compiled with a resolver that knows `torch`, `redis` and
//   `redisAI` (case-insensitively), function lookup, schemas, calls with a Stack.
// - Custom operators `redis::execute`, `redis::asList`, `redisAI::model_execute`, calling back into
//   Rust through function pointers given to rai_init().
// - Saved modules (AI.MODELSTORE): loaded from memory, `forward` argument names, forward with the
//   outputs flattened.
// - Building a module from source and saving it (test fixtures need no Python torch).
//
// Rules of this file: every extern "C" function catches every exception (none may unwind into
// Rust) and reports failure as a malloc'd, NUL-terminated one-line-ish string that Rust frees with
// rai_free(). Tensors cross the boundary as plain descriptors (dtype, dims, bytes): data is copied
// in and copied out exactly once. No std::*stringstream here: libtorch.so (which needs the absent
// libtorch_cuda.so) exports some of those symbols, and nothing may bind to it.

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <ATen/core/grad_mode.h>
#include <caffe2/serialize/read_adapter_interface.h>
#include <torch/csrc/jit/api/compilation_unit.h>
#include <torch/csrc/jit/api/module.h>
#include <torch/csrc/jit/frontend/resolver.h>
#include <torch/csrc/jit/runtime/custom_operator.h>
#include <torch/csrc/jit/serialization/export.h>
#include <torch/csrc/jit/serialization/import.h>

#include <strings.h>

#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

using torch::jit::Stack;

extern "C" {

// A byte string (not NUL-terminated).
struct rai_str {
  const char* ptr;
  size_t len;
};

// A tensor as plain data: c10::ScalarType code, dims, row-major bytes.
struct rai_input {
  int scalar_type;
  const int64_t* dims;
  size_t ndims;
  const void* data;
  size_t nbytes;
};

// One argument of a script call: 0 = one tensor (tensors[start]), 1 = List[Tensor]
// (tensors[start..start+count]), 2 = List[str] (strs[start..start+count]).
struct rai_arg {
  int kind;
  size_t start;
  size_t count;
};

// Receives one output tensor (CPU, contiguous; `data` valid only during the call). Returns 0, or
// non-zero to stop (the Rust side keeps its own error).
typedef int (*rai_tensor_sink)(void* ctx, int scalar_type, const int64_t* dims, size_t ndims,
                               const void* data, size_t nbytes);

// redis.execute: argv[0] is the command. Fills the reply through rai_reply_* on `builder`;
// on failure returns non-zero after setting the whole exception text with rai_string_set(err).
typedef int (*rai_exec_cb)(void* host, const rai_str* argv, size_t argc, void* builder, void* err);

// redisAI.model_execute: pushes each output with rai_tensor_list_push(out_list, ..).
typedef int (*rai_model_cb)(void* host, rai_str key, const rai_input* inputs, size_t ninputs,
                            int64_t noutputs, void* out_list, void* err);

}  // extern "C"

namespace {

rai_exec_cb g_exec_cb = nullptr;
rai_model_cb g_model_cb = nullptr;

// The script run in progress on this thread: its host (for the custom operators) and device.
thread_local void* tl_host = nullptr;
thread_local c10::Device tl_device = c10::Device(c10::kCPU);

char* dup_str(const std::string& s) {
  char* p = static_cast<char*>(std::malloc(s.size() + 1));
  if (p == nullptr) return nullptr;
  std::memcpy(p, s.data(), s.size());
  p[s.size()] = '\0';
  return p;
}

// A message without C++ backtraces ("\nException raised from ...").
std::string clean(const std::string& msg) {
  std::string s = msg;
  size_t cut = s.find("\nException raised from");
  if (cut != std::string::npos) s.resize(cut);
  return s;
}

char* error_of(const c10::Error& e) { return dup_str(clean(e.what_without_backtrace())); }
char* error_of(const std::exception& e) { return dup_str(clean(e.what())); }
char* unknown_error() { return dup_str("unknown C++ exception in libtorch"); }

#define RAI_CATCH                                          \
  catch (const c10::Error& e) {                            \
    return error_of(e);                                    \
  }                                                        \
  catch (const std::exception& e) {                        \
    return error_of(e);                                    \
  }                                                        \
  catch (...) {                                            \
    return unknown_error();                                \
  }

bool supported_output(c10::ScalarType st) {
  switch (st) {
    case c10::kByte:
    case c10::kChar:
    case c10::kShort:
    case c10::kInt:
    case c10::kLong:
    case c10::kHalf:
    case c10::kFloat:
    case c10::kDouble:
    case c10::kBool:
    case c10::kBFloat16:
    case c10::kUInt16:
      return true;
    default:
      return false;
  }
}

at::Tensor tensor_from(const rai_input& in) {
  std::vector<int64_t> dims(in.dims, in.dims + in.ndims);
  auto st = static_cast<c10::ScalarType>(in.scalar_type);
  at::Tensor t = at::empty(dims, at::TensorOptions().dtype(st).device(c10::kCPU));
  size_t nbytes = static_cast<size_t>(t.numel()) * t.element_size();
  if (nbytes != in.nbytes) {
    throw std::runtime_error("data length does not match tensor shape and type");
  }
  if (nbytes > 0) std::memcpy(t.data_ptr(), in.data, nbytes);
  return t;
}

// Hands `t` to the sink as CPU contiguous bytes. Returns false if the sink refused it.
bool export_tensor(const at::Tensor& t, rai_tensor_sink sink, void* ctx) {
  if (!t.defined()) throw std::runtime_error("undefined tensor in outputs");
  if (!supported_output(t.scalar_type())) {
    throw std::runtime_error(std::string("Unsupported ScalarType ") +
                             c10::toString(t.scalar_type()));
  }
  at::Tensor c = t.to(c10::kCPU).contiguous();
  std::vector<int64_t> dims = c.sizes().vec();
  size_t nbytes = static_cast<size_t>(c.numel()) * c.element_size();
  const void* data = nbytes > 0 ? c.data_ptr() : nullptr;
  return sink(ctx, static_cast<int>(c.scalar_type()), dims.data(), dims.size(), data, nbytes) == 0;
}

// ---- custom operators -----------------------------------------------------------------------

struct ReplyBuilder {
  std::vector<c10::impl::GenericList> open;
  c10::IValue result;
  bool failed = false;

  void push(c10::IValue v) {
    if (open.empty()) {
      result = std::move(v);
    } else {
      open.back().push_back(std::move(v));
    }
  }
};

void op_redis_execute(Stack& stack) {
  c10::List<c10::IValue> args = torch::jit::pop(stack).toList();
  std::string cmd = torch::jit::pop(stack).toStringRef();
  std::vector<std::string> owned;
  owned.reserve(args.size() + 1);
  owned.push_back(std::move(cmd));
  for (const c10::IValue& a : args) owned.push_back(a.toStringRef());
  std::vector<rai_str> argv;
  argv.reserve(owned.size());
  for (const std::string& s : owned) argv.push_back(rai_str{s.data(), s.size()});
  if (g_exec_cb == nullptr) throw std::runtime_error("redis.execute is not available");
  ReplyBuilder b;
  std::string err;
  if (g_exec_cb(tl_host, argv.data(), argv.size(), &b, &err) != 0) throw std::runtime_error(err);
  if (b.failed || !b.open.empty()) throw std::runtime_error("could not convert the Redis reply");
  torch::jit::push(stack, std::move(b.result));
}

void op_redis_execute_cmd(Stack& stack) {
  torch::jit::push(stack, c10::List<std::string>());
  op_redis_execute(stack);
}

void op_as_list(Stack& stack) {
  c10::IValue v = torch::jit::pop(stack);
  if (!v.isList()) throw std::runtime_error("redis.asList: the value is not a list");
  torch::jit::push(stack, v.toList());
}

void op_model_execute(Stack& stack) {
  int64_t noutputs = torch::jit::pop(stack).toInt();
  std::vector<at::Tensor> inputs = torch::jit::pop(stack).toTensorVector();
  std::string key = torch::jit::pop(stack).toStringRef();
  // CPU contiguous copies stay alive while Rust reads them.
  std::vector<at::Tensor> cpu;
  std::vector<std::vector<int64_t>> dims;
  std::vector<rai_input> descs;
  cpu.reserve(inputs.size());
  dims.reserve(inputs.size());
  descs.reserve(inputs.size());
  for (const at::Tensor& t : inputs) {
    if (!supported_output(t.scalar_type())) {
      throw std::runtime_error(std::string("Unsupported ScalarType ") +
                               c10::toString(t.scalar_type()));
    }
    cpu.push_back(t.to(c10::kCPU).contiguous());
    const at::Tensor& c = cpu.back();
    dims.push_back(c.sizes().vec());
    size_t nbytes = static_cast<size_t>(c.numel()) * c.element_size();
    descs.push_back(rai_input{static_cast<int>(c.scalar_type()), dims.back().data(),
                              dims.back().size(), nbytes > 0 ? c.data_ptr() : nullptr, nbytes});
  }
  if (g_model_cb == nullptr) throw std::runtime_error("redisAI.model_execute is not available");
  std::vector<at::Tensor> outs;
  std::string err;
  if (g_model_cb(tl_host, rai_str{key.data(), key.size()}, descs.data(), descs.size(), noutputs,
                 &outs, &err) != 0) {
    throw std::runtime_error(err);
  }
  c10::List<at::Tensor> result;
  for (at::Tensor& t : outs) result.push_back(t.to(tl_device));
  torch::jit::push(stack, std::move(result));
}

void register_operators() {
  static torch::jit::RegisterOperators reg({
      torch::jit::Operator("redis::execute(str cmd, str[] args) -> Any", op_redis_execute,
                           c10::AliasAnalysisKind::CONSERVATIVE),
      // `redis.execute("PING")`: schemas cannot default a str[] to [], so an overload
      torch::jit::Operator("redis::execute.cmd(str cmd) -> Any", op_redis_execute_cmd,
                           c10::AliasAnalysisKind::CONSERVATIVE),
      torch::jit::Operator("redis::asList(Any value) -> Any[]", op_as_list,
                           c10::AliasAnalysisKind::CONSERVATIVE),
      torch::jit::Operator(
          "redisAI::model_execute(str key, Tensor[] inputs, int num_outputs) -> Tensor[]",
          op_model_execute, c10::AliasAnalysisKind::CONSERVATIVE),
  });
}

// `torch` → aten builtins, `redis` / `redisAI` → our operators; case-insensitive.
struct RedisResolver : public torch::jit::Resolver {
  std::shared_ptr<torch::jit::SugaredValue> resolveValue(const std::string& name,
                                                         torch::jit::GraphFunction&,
                                                         const torch::jit::SourceRange&) override {
    if (strcasecmp(name.c_str(), "torch") == 0) {
      return std::make_shared<torch::jit::BuiltinModule>("aten");
    }
    if (strcasecmp(name.c_str(), "redis") == 0) {
      return std::make_shared<torch::jit::BuiltinModule>("redis");
    }
    if (strcasecmp(name.c_str(), "redisai") == 0) {
      return std::make_shared<torch::jit::BuiltinModule>("redisAI");
    }
    return nullptr;
  }
  c10::TypePtr resolveType(const std::string&, const torch::jit::SourceRange&) override {
    return nullptr;
  }
};

// ---- models ---------------------------------------------------------------------------------

struct MemoryReader : public caffe2::serialize::ReadAdapterInterface {
  const char* data;
  size_t len;
  MemoryReader(const void* d, size_t n) : data(static_cast<const char*>(d)), len(n) {}
  size_t size() const override { return len; }
  size_t read(uint64_t pos, void* buf, size_t n, const char*) const override {
    if (pos >= len) return 0;
    size_t k = std::min<size_t>(n, len - pos);
    std::memcpy(buf, data + pos, k);
    return k;
  }
};

struct Model {
  torch::jit::Module module;
  c10::Device device;
  std::vector<std::string> inputs;
  int64_t noutputs;  // -1: only known after a run (a list in the return type)
};

// Tensors in a return type, flattened like the outputs (-1: not known before running).
int64_t count_tensors(const c10::TypePtr& t) {
  if (t->kind() == c10::TypeKind::TensorType) return 1;
  if (auto tuple = t->cast<c10::TupleType>()) {
    int64_t n = 0;
    for (const c10::TypePtr& e : tuple->elements()) {
      int64_t k = count_tensors(e);
      if (k < 0) return -1;
      n += k;
    }
    return n;
  }
  return -1;
}

// Tensors of a model output: a tensor, or tuples/lists of them (recursively).
void flatten_model_output(const c10::IValue& v, std::vector<at::Tensor>& out) {
  if (v.isTensor()) {
    out.push_back(v.toTensor());
  } else if (v.isTensorList()) {
    for (const at::Tensor& t : v.toTensorVector()) out.push_back(t);
  } else if (v.isTuple()) {
    for (const c10::IValue& e : v.toTupleRef().elements()) flatten_model_output(e, out);
  } else if (v.isList()) {
    for (const c10::IValue& e : v.toListRef()) flatten_model_output(e, out);
  } else {
    throw std::runtime_error(std::string("Model returned a non-tensor value of type ") +
                             v.tagKind());
  }
}

// ---- scripts --------------------------------------------------------------------------------

struct Script {
  std::shared_ptr<torch::jit::CompilationUnit> cu;
  c10::Device device;
};

torch::jit::Function* find_function(const Script* s, const char* name, size_t len) {
  std::string n(name, len);
  if (n.empty() || n.find('\0') != std::string::npos) return nullptr;
  try {
    return s->cu->find_function(c10::QualifiedName(n));
  } catch (...) {
    return nullptr;  // not a valid qualified name: no such function
  }
}

struct HostScope {
  void* prev_host;
  c10::Device prev_device;
  HostScope(void* host, c10::Device device) : prev_host(tl_host), prev_device(tl_device) {
    tl_host = host;
    tl_device = device;
  }
  ~HostScope() {
    tl_host = prev_host;
    tl_device = prev_device;
  }
};

c10::Device device_of(int device_type, int device_index) {
  if (device_type == 1) return c10::Device(c10::kCUDA, static_cast<c10::DeviceIndex>(device_index));
  return c10::Device(c10::kCPU);
}

}  // namespace

extern "C" {

void rai_free(void* p) { std::free(p); }

// Registers the custom operators and the callbacks into Rust, once per process (the callbacks
// never change; setting them only here keeps running scripts from reading them mid-write).
char* rai_init(rai_exec_cb exec_cb, rai_model_cb model_cb) {
  static std::once_flag once;
  static std::string init_error;
  try {
    std::call_once(once, [exec_cb, model_cb] {
      g_exec_cb = exec_cb;
      g_model_cb = model_cb;
      try {
        register_operators();
      } catch (const c10::Error& e) {
        init_error = clean(e.what_without_backtrace());
      } catch (const std::exception& e) {
        init_error = clean(e.what());
      } catch (...) {
        init_error = "could not register the TorchScript operators";
      }
    });
    if (!init_error.empty()) return dup_str(init_error);
    return nullptr;
  }
  RAI_CATCH
}

// Sets libtorch's thread pools where asked (> 0) and different, as RedisAI does.
char* rai_set_threads(int64_t intra, int64_t inter) {
  try {
    if (inter > 0 && at::get_num_interop_threads() != inter) {
      try {
        at::set_num_interop_threads(static_cast<int>(inter));
      } catch (...) {
        return dup_str("Cannot set number of inter-op threads after parallel work has started");
      }
    }
    if (intra > 0 && at::get_num_threads() != intra) {
      try {
        at::set_num_threads(static_cast<int>(intra));
      } catch (...) {
        return dup_str("Cannot set number of intra-op threads after parallel work has started");
      }
    }
    return nullptr;
  }
  RAI_CATCH
}

// ---- models ---------------------------------------------------------------------------------

char* rai_model_load(const void* data, size_t len, int device_type, int device_index, void** out) {
  *out = nullptr;
  try {
    c10::Device device = device_of(device_type, device_index);
    auto reader = std::make_shared<MemoryReader>(data, len);
    torch::jit::Module m = torch::jit::load(reader, device);
    m.eval();
    const c10::FunctionSchema& schema = m.get_method("forward").function().getSchema();
    auto model = std::make_unique<Model>(Model{m, device, {}, -1});
    const auto& args = schema.arguments();
    for (size_t i = 1; i < args.size(); i++) model->inputs.push_back(args[i].name());
    const auto& rets = schema.returns();
    model->noutputs = rets.size() == 1 ? count_tensors(rets[0].type()) : -1;
    *out = model.release();
    return nullptr;
  }
  RAI_CATCH
}

void rai_model_free(void* m) { delete static_cast<Model*>(m); }

size_t rai_model_num_inputs(const void* m) { return static_cast<const Model*>(m)->inputs.size(); }

rai_str rai_model_input_name(const void* m, size_t i) {
  const std::string& s = static_cast<const Model*>(m)->inputs[i];
  return rai_str{s.data(), s.size()};
}

int64_t rai_model_num_outputs(const void* m) { return static_cast<const Model*>(m)->noutputs; }

// forward(inputs...) under no-grad; every output tensor goes to `sink`, in order.
char* rai_model_run(void* m, const rai_input* inputs, size_t ninputs, rai_tensor_sink sink,
                    void* ctx) {
  try {
    Model* model = static_cast<Model*>(m);
    at::NoGradGuard no_grad;
    std::vector<c10::IValue> args;
    args.reserve(ninputs);
    for (size_t i = 0; i < ninputs; i++) args.emplace_back(tensor_from(inputs[i]).to(model->device));
    c10::IValue ret = model->module.forward(std::move(args));
    std::vector<at::Tensor> outs;
    flatten_model_output(ret, outs);
    for (const at::Tensor& t : outs) {
      if (!export_tensor(t, sink, ctx)) return dup_str("");
    }
    return nullptr;
  }
  RAI_CATCH
}

// ---- scripts --------------------------------------------------------------------------------

char* rai_script_compile(const char* src, size_t len, int device_type, int device_index,
                         void** out) {
  *out = nullptr;
  try {
    auto script = std::make_unique<Script>(
        Script{std::make_shared<torch::jit::CompilationUnit>(), device_of(device_type, device_index)});
    script->cu->define(std::nullopt, std::string(src, len), std::make_shared<RedisResolver>(),
                       nullptr);
    *out = script.release();
    return nullptr;
  }
  RAI_CATCH
}

void rai_script_free(void* s) { delete static_cast<Script*>(s); }

// Parameter kinds of a function: 0 Tensor, 1 List[Tensor], 2 List[str], 3 anything else.
// Returns 0 if there is no such function, 1 otherwise; fills min(nargs, cap) kinds.
int rai_script_signature(const void* s, const char* name, size_t len, int* kinds, size_t cap,
                         size_t* nargs) {
  *nargs = 0;
  try {
    torch::jit::Function* f = find_function(static_cast<const Script*>(s), name, len);
    if (f == nullptr) return 0;
    const auto& args = f->getSchema().arguments();
    *nargs = args.size();
    for (size_t i = 0; i < args.size() && i < cap; i++) {
      const c10::TypePtr& t = args[i].type();
      if (t->kind() == c10::TypeKind::TensorType) {
        kinds[i] = 0;
      } else if (*t == *c10::ListType::ofTensors()) {
        kinds[i] = 1;
      } else if (*t == *c10::ListType::ofStrings()) {
        kinds[i] = 2;
      } else {
        kinds[i] = 3;
      }
    }
    return 1;
  } catch (...) {
    return 0;
  }
}

// Calls `name` with the arguments `args` describe, under no-grad, with `host` available to the
// custom operators. If `collect` is non-zero the returned tensors go to `sink` (a tensor, a list
// of tensors or a tuple of tensors; anything else is an error).
char* rai_script_run(void* s, const char* name, size_t len, const rai_input* tensors,
                     size_t ntensors, const rai_str* strs, size_t nstrs, const rai_arg* args,
                     size_t nargs, int collect, rai_tensor_sink sink, void* ctx, void* host) {
  try {
    Script* script = static_cast<Script*>(s);
    std::string fname(name, len);
    torch::jit::Function* f = find_function(script, name, len);
    if (f == nullptr) return dup_str("Function does not exist: " + fname);
    at::NoGradGuard no_grad;
    HostScope scope(host, script->device);
    std::vector<at::Tensor> ts;
    ts.reserve(ntensors);
    for (size_t i = 0; i < ntensors; i++) ts.push_back(tensor_from(tensors[i]).to(script->device));
    Stack stack;
    for (size_t i = 0; i < nargs; i++) {
      const rai_arg& a = args[i];
      if (a.kind == 0) {
        if (a.start >= ts.size()) throw std::runtime_error("tensor argument out of range");
        stack.emplace_back(ts[a.start]);
      } else if (a.kind == 1) {
        if (a.start > ts.size() || a.count > ts.size() - a.start) {
          throw std::runtime_error("tensor list argument out of range");
        }
        c10::List<at::Tensor> l;
        l.reserve(a.count);
        for (size_t k = a.start; k < a.start + a.count; k++) l.push_back(ts[k]);
        stack.emplace_back(std::move(l));
      } else {
        if (a.start > nstrs || a.count > nstrs - a.start) {
          throw std::runtime_error("string list argument out of range");
        }
        c10::List<std::string> l;
        l.reserve(a.count);
        for (size_t k = a.start; k < a.start + a.count; k++) {
          l.push_back(std::string(strs[k].ptr, strs[k].len));
        }
        stack.emplace_back(std::move(l));
      }
    }
    c10::IValue ret = (*f)(std::move(stack));
    if (!collect) return nullptr;
    std::vector<at::Tensor> outs;
    if (ret.isTensor()) {
      outs.push_back(ret.toTensor());
    } else if (ret.isTensorList()) {
      outs = ret.toTensorVector();
    } else if (ret.isTuple()) {
      for (const c10::IValue& e : ret.toTupleRef().elements()) {
        if (!e.isTensor()) return dup_str("Function returned non-tensor values" + fname);
        outs.push_back(e.toTensor());
      }
    } else {
      return dup_str("Function returned non-tensor values" + fname);
    }
    for (const at::Tensor& t : outs) {
      if (!export_tensor(t, sink, ctx)) return dup_str("");
    }
    return nullptr;
  }
  RAI_CATCH
}

// ---- for the Rust callbacks -----------------------------------------------------------------

void rai_string_set(void* s, const char* p, size_t len) {
  try {
    static_cast<std::string*>(s)->assign(p, len);
  } catch (...) {
  }
}

void rai_reply_none(void* b) {
  auto* r = static_cast<ReplyBuilder*>(b);
  try {
    r->push(c10::IValue());
  } catch (...) {
    r->failed = true;
  }
}

void rai_reply_str(void* b, const char* p, size_t len) {
  auto* r = static_cast<ReplyBuilder*>(b);
  try {
    r->push(c10::IValue(std::string(p, len)));
  } catch (...) {
    r->failed = true;
  }
}

void rai_reply_int(void* b, int64_t v) {
  auto* r = static_cast<ReplyBuilder*>(b);
  try {
    r->push(c10::IValue(v));
  } catch (...) {
    r->failed = true;
  }
}

void rai_reply_list_begin(void* b) {
  auto* r = static_cast<ReplyBuilder*>(b);
  try {
    r->open.emplace_back(c10::AnyType::get());
  } catch (...) {
    r->failed = true;
  }
}

void rai_reply_list_end(void* b) {
  auto* r = static_cast<ReplyBuilder*>(b);
  try {
    if (r->open.empty()) {
      r->failed = true;
      return;
    }
    c10::impl::GenericList l = std::move(r->open.back());
    r->open.pop_back();
    r->push(c10::IValue(std::move(l)));
  } catch (...) {
    r->failed = true;
  }
}

// Appends a copy of `t` to a model_execute result list.
char* rai_tensor_list_push(void* list, const rai_input* t) {
  try {
    static_cast<std::vector<at::Tensor>*>(list)->push_back(tensor_from(*t));
    return nullptr;
  }
  RAI_CATCH
}

// ---- fixtures -------------------------------------------------------------------------------

// Builds a module (class `m`) from TorchScript method source and returns its saved bytes. The
// `nparams` tensors are registered first as parameters `names[i]`, so the methods can use them
// as `self.<name>` (weights without Python).
char* rai_module_from_source(const char* src, size_t len, const rai_str* names,
                             const rai_input* params, size_t nparams, void** out,
                             size_t* out_len) {
  *out = nullptr;
  *out_len = 0;
  try {
    torch::jit::Module m("m");
    for (size_t i = 0; i < nparams; i++) {
      m.register_parameter(std::string(names[i].ptr, names[i].len), tensor_from(params[i]), false);
    }
    m.define(std::string(src, len));
    std::string bytes;
    torch::jit::ExportModule(m, [&bytes](const void* p, size_t n) -> size_t {
      bytes.append(static_cast<const char*>(p), n);
      return n;
    });
    void* buf = std::malloc(bytes.size() > 0 ? bytes.size() : 1);
    if (buf == nullptr) return dup_str("out of memory");
    std::memcpy(buf, bytes.data(), bytes.size());
    *out = buf;
    *out_len = bytes.size();
    return nullptr;
  }
  RAI_CATCH
}

}  // extern "C"
