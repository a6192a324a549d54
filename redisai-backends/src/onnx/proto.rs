//! Just enough protobuf to find tensors with external data in an ONNX `ModelProto`.
//!
//! ORT loads such a tensor from a file named in the model, relative to the working directory
//! when the model comes from memory: a client could make the server read its files. RedisAI's
//! ORT build refused them; stock ORT does not, so every tensor reachable from the model is
//! checked here: graph initializers (dense and sparse), tensors in node attributes (`Constant`
//! values), subgraphs (`Loop`/`If`/`Scan` bodies), model-local functions and training graphs, at
//! any depth. A tensor has external data when its `data_location` is EXTERNAL or it carries
//! `external_data` entries.
//!
//! Field numbers are those of onnx/onnx.proto (IR version 10).

/// The blob is not a well-formed protobuf (or nests deeper than [`MAX_DEPTH`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Malformed;

/// Protobuf's own default recursion limit.
const MAX_DEPTH: usize = 100;

/// The messages on the way from a model to its tensors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Message {
    Model,
    Graph,
    Node,
    Attribute,
    Function,
    TrainingInfo,
    SparseTensor,
    Tensor,
}

impl Message {
    /// The message type of a length-delimited field that can lead to a tensor.
    fn child(self, field: u64) -> Option<Message> {
        use Message::*;
        match (self, field) {
            // graph, training_info, functions
            (Model, 7) => Some(Graph),
            (Model, 20) => Some(TrainingInfo),
            (Model, 25) => Some(Function),
            // node, initializer, sparse_initializer
            (Graph, 1) => Some(Node),
            (Graph, 5) => Some(Tensor),
            (Graph, 15) => Some(SparseTensor),
            // attribute
            (Node, 5) => Some(Attribute),
            // t, g, tensors, graphs, sparse_tensor, sparse_tensors
            (Attribute, 5) | (Attribute, 10) => Some(Tensor),
            (Attribute, 6) | (Attribute, 11) => Some(Graph),
            (Attribute, 22) | (Attribute, 23) => Some(SparseTensor),
            // node, attribute_proto
            (Function, 7) => Some(Node),
            (Function, 11) => Some(Attribute),
            // initialization, algorithm
            (TrainingInfo, 1) | (TrainingInfo, 3) => Some(Graph),
            // values, indices
            (SparseTensor, 1) | (SparseTensor, 2) => Some(Tensor),
            _ => None,
        }
    }
}

/// TensorProto.external_data (repeated message).
const TENSOR_EXTERNAL_DATA: u64 = 13;
/// TensorProto.data_location (enum; EXTERNAL = 1).
const TENSOR_DATA_LOCATION: u64 = 14;
const EXTERNAL: u64 = 1;

/// Whether any tensor in the model stores its data outside the model.
pub(crate) fn has_external_data(model: &[u8]) -> Result<bool, Malformed> {
    walk(model, Message::Model, 0)
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn done(&self) -> bool {
        self.pos >= self.buf.len()
    }

    fn varint(&mut self) -> Result<u64, Malformed> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = *self.buf.get(self.pos).ok_or(Malformed)?;
            self.pos += 1;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(Malformed)
    }

    fn take(&mut self, n: u64) -> Result<&'a [u8], Malformed> {
        let n = usize::try_from(n).map_err(|_| Malformed)?;
        let end = self.pos.checked_add(n).ok_or(Malformed)?;
        let bytes = self.buf.get(self.pos..end).ok_or(Malformed)?;
        self.pos = end;
        Ok(bytes)
    }

    /// Skips a field's value of `wire` type; groups are skipped to their matching end.
    fn skip(&mut self, wire: u64, field: u64, depth: usize) -> Result<(), Malformed> {
        match wire {
            0 => self.varint().map(drop),
            1 => self.take(8).map(drop),
            2 => {
                let len = self.varint()?;
                self.take(len).map(drop)
            }
            3 => {
                if depth >= MAX_DEPTH {
                    return Err(Malformed);
                }
                loop {
                    let (f, w) = self.key()?;
                    if w == 4 {
                        return if f == field { Ok(()) } else { Err(Malformed) };
                    }
                    self.skip(w, f, depth + 1)?;
                }
            }
            5 => self.take(4).map(drop),
            _ => Err(Malformed),
        }
    }

    /// A field key: (field number, wire type).
    fn key(&mut self) -> Result<(u64, u64), Malformed> {
        let key = self.varint()?;
        let field = key >> 3;
        if field == 0 {
            return Err(Malformed);
        }
        Ok((field, key & 7))
    }
}

fn walk(buf: &[u8], message: Message, depth: usize) -> Result<bool, Malformed> {
    if depth > MAX_DEPTH {
        return Err(Malformed);
    }
    let mut reader = Reader { buf, pos: 0 };
    let mut external = false;
    while !reader.done() {
        let (field, wire) = reader.key()?;
        match (message, field, wire) {
            (Message::Tensor, TENSOR_DATA_LOCATION, 0) => {
                external |= reader.varint()? == EXTERNAL;
            }
            (Message::Tensor, TENSOR_EXTERNAL_DATA, 2) => {
                let len = reader.varint()?;
                reader.take(len)?;
                external = true;
            }
            (_, _, 2) => {
                let len = reader.varint()?;
                let value = reader.take(len)?;
                if let Some(child) = message.child(field) {
                    external |= walk(value, child, depth + 1)?;
                }
            }
            // an end-group with no start
            (_, _, 4) => return Err(Malformed),
            _ => reader.skip(wire, field, depth)?,
        }
    }
    Ok(external)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal protobuf writer for building test models.
    fn varint(mut v: u64, out: &mut Vec<u8>) {
        loop {
            let byte = (v & 0x7f) as u8;
            v >>= 7;
            if v == 0 {
                out.push(byte);
                return;
            }
            out.push(byte | 0x80);
        }
    }

    fn message(field: u64, body: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        varint(field << 3 | 2, &mut out);
        varint(body.len() as u64, &mut out);
        out.extend_from_slice(body);
        out
    }

    fn int(field: u64, v: u64) -> Vec<u8> {
        let mut out = Vec::new();
        varint(field << 3, &mut out);
        varint(v, &mut out);
        out
    }

    fn tensor(external: bool) -> Vec<u8> {
        let mut t = message(8, b"w"); // name
        t.extend(int(2, 1)); // data_type FLOAT
        if external {
            t.extend(int(TENSOR_DATA_LOCATION, EXTERNAL));
        } else {
            t.extend(message(9, &[0, 0, 128, 63])); // raw_data
        }
        t
    }

    fn model_with_graph(graph: &[u8]) -> Vec<u8> {
        let mut m = int(1, 8); // ir_version
        m.extend(message(7, graph));
        m
    }

    #[test]
    fn plain_initializer_is_fine() {
        let graph = message(5, &tensor(false));
        assert_eq!(has_external_data(&model_with_graph(&graph)), Ok(false));
    }

    #[test]
    fn external_initializer_is_found() {
        let graph = message(5, &tensor(true));
        assert_eq!(has_external_data(&model_with_graph(&graph)), Ok(true));
        // external_data entries alone also count
        let mut t = message(8, b"w");
        t.extend(message(TENSOR_EXTERNAL_DATA, &message(1, b"location")));
        let graph = message(5, &t);
        assert_eq!(has_external_data(&model_with_graph(&graph)), Ok(true));
    }

    #[test]
    fn external_constant_in_a_loop_body_is_found() {
        // Model.graph.node[Loop].attribute[body].g.node[Constant].attribute[value].t
        let constant_attr = [message(1, b"value"), message(5, &tensor(true))].concat();
        let constant = [message(4, b"Constant"), message(5, &constant_attr)].concat();
        let body = message(1, &constant);
        let body_attr = [message(1, b"body"), message(6, &body)].concat();
        let lp = [message(4, b"Loop"), message(5, &body_attr)].concat();
        let graph = message(1, &lp);
        assert_eq!(has_external_data(&model_with_graph(&graph)), Ok(true));
    }

    #[test]
    fn sparse_and_function_tensors_are_found() {
        let sparse = message(1, &tensor(true));
        let graph = message(15, &sparse);
        assert_eq!(has_external_data(&model_with_graph(&graph)), Ok(true));
        let attr = [message(1, b"value"), message(5, &tensor(true))].concat();
        let node = message(5, &attr);
        let function = message(7, &node);
        let mut model = int(1, 8);
        model.extend(message(25, &function));
        assert_eq!(has_external_data(&model), Ok(true));
    }

    #[test]
    fn unrelated_fields_and_groups_are_skipped() {
        let mut graph = message(5, &tensor(false));
        graph.extend(int(99, 1)); // unknown varint
        graph.extend([(98 << 3 | 3) as u8 | 0x80, 6]); // group 98 start (two-byte key)...
        graph.extend(int(1, 5)); // ...with a varint inside...
        graph.extend([(98 << 3 | 4) as u8 | 0x80, 6]); // ...and its end
        graph.extend([(97 << 3 | 5) as u8 | 0x80, 6, 1, 2, 3, 4]); // fixed32
        assert_eq!(has_external_data(&model_with_graph(&graph)), Ok(false));
    }

    #[test]
    fn garbage_is_malformed() {
        assert_eq!(has_external_data(b"\xff\xff\xff"), Err(Malformed));
        assert_eq!(has_external_data(&[0x3a, 0x10, 1]), Err(Malformed)); // truncated graph
        assert_eq!(has_external_data(&[0x07]), Err(Malformed)); // wire type 7
                                                                // nesting deeper than protobuf allows: graph -> node -> attribute -> graph ...
        let mut graph = message(5, &tensor(false));
        for _ in 0..50 {
            let attr = [message(1, b"g"), message(6, &graph)].concat();
            graph = message(1, &message(5, &attr));
        }
        assert_eq!(has_external_data(&model_with_graph(&graph)), Err(Malformed));
        assert_eq!(has_external_data(b""), Ok(false));
    }
}
