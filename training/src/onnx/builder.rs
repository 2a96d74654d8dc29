//! A small helper for writing ONNX graphs by hand: initializers, nodes, attributes, value infos.

use super::proto::{
    attribute_proto::AttributeType, tensor_proto::DataType, tensor_shape_proto, type_proto,
    AttributeProto, GraphProto, NodeProto, TensorProto, TensorShapeProto, TypeProto,
    ValueInfoProto,
};

/// A dimension of a graph input or output.
#[derive(Debug, Clone, Copy)]
pub enum Dim<'a> {
    Fixed(i64),
    Named(&'a str),
}

/// An attribute value.
#[derive(Debug, Clone)]
pub enum Attr {
    Int(i64),
    Float(f32),
    Ints(Vec<i64>),
}

/// Accumulates nodes and initializers; names intermediate values uniquely.
#[derive(Debug, Default)]
pub struct GraphBuilder {
    pub nodes: Vec<NodeProto>,
    pub initializers: Vec<TensorProto>,
    counter: usize,
}

impl GraphBuilder {
    /// A fresh value name with a readable prefix.
    pub fn fresh(&mut self, prefix: &str) -> String {
        self.counter += 1;
        format!("{prefix}_{}", self.counter)
    }

    /// A float initializer (little-endian `raw_data`).
    pub fn float(&mut self, name: &str, dims: &[usize], values: &[f32]) -> String {
        debug_assert_eq!(dims.iter().product::<usize>(), values.len());
        let raw: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        self.initializers.push(TensorProto {
            name: name.to_owned(),
            dims: dims.iter().map(|&d| d as i64).collect(),
            data_type: DataType::Float as i32,
            raw_data: raw,
            ..Default::default()
        });
        name.to_owned()
    }

    /// An int8 initializer (weights quantized by [`super::export`]).
    pub fn int8(&mut self, name: &str, dims: &[usize], values: &[i8]) -> String {
        debug_assert_eq!(dims.iter().product::<usize>(), values.len());
        self.initializers.push(TensorProto {
            name: name.to_owned(),
            dims: dims.iter().map(|&d| d as i64).collect(),
            data_type: DataType::Int8 as i32,
            raw_data: values.iter().map(|v| v.to_le_bytes()[0]).collect(),
            ..Default::default()
        });
        name.to_owned()
    }

    /// A uint8 scalar (rank 0) initializer (a zero point).
    pub fn uint8_scalar(&mut self, name: &str, value: u8) -> String {
        self.initializers.push(TensorProto {
            name: name.to_owned(),
            dims: Vec::new(),
            data_type: DataType::Uint8 as i32,
            raw_data: vec![value],
            ..Default::default()
        });
        name.to_owned()
    }

    /// A float scalar (rank 0) initializer.
    pub fn float_scalar(&mut self, name: &str, value: f32) -> String {
        self.float(name, &[], &[value])
    }

    /// An int64 1-D initializer.
    pub fn ints(&mut self, name: &str, values: &[i64]) -> String {
        let raw: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        self.initializers.push(TensorProto {
            name: name.to_owned(),
            dims: vec![values.len() as i64],
            data_type: DataType::Int64 as i32,
            raw_data: raw,
            ..Default::default()
        });
        name.to_owned()
    }

    /// Adds a node with one output named `output` (a fresh name when `None`); returns it.
    pub fn node(
        &mut self,
        op: &str,
        inputs: &[&str],
        output: Option<&str>,
        attrs: &[(&str, Attr)],
    ) -> String {
        let out = output.map_or_else(|| self.fresh(&op.to_ascii_lowercase()), str::to_owned);
        self.node_multi(op, inputs, &[out.as_str()], attrs);
        out
    }

    /// Adds a node with several outputs.
    pub fn node_multi(
        &mut self,
        op: &str,
        inputs: &[&str],
        outputs: &[&str],
        attrs: &[(&str, Attr)],
    ) {
        let name = self.fresh(op);
        self.nodes.push(NodeProto {
            op_type: op.to_owned(),
            name,
            input: inputs.iter().map(|s| (*s).to_owned()).collect(),
            output: outputs.iter().map(|s| (*s).to_owned()).collect(),
            attribute: attrs.iter().map(|(n, a)| attribute(n, a)).collect(),
            ..Default::default()
        });
    }

    /// Adds a node of another operator domain (ONNX Runtime's contrib operators).
    pub fn node_in_domain(&mut self, domain: &str, op: &str, inputs: &[&str], outputs: &[&str]) {
        self.node_multi(op, inputs, outputs, &[]);
        if let Some(node) = self.nodes.last_mut() {
            domain.clone_into(&mut node.domain);
        }
    }

    /// Finishes the graph.
    pub fn finish(
        self,
        name: &str,
        inputs: Vec<ValueInfoProto>,
        outputs: Vec<ValueInfoProto>,
    ) -> GraphProto {
        GraphProto {
            name: name.to_owned(),
            node: self.nodes,
            initializer: self.initializers,
            input: inputs,
            output: outputs,
            ..Default::default()
        }
    }
}

fn attribute(name: &str, value: &Attr) -> AttributeProto {
    let mut a = AttributeProto {
        name: name.to_owned(),
        ..Default::default()
    };
    match value {
        Attr::Int(i) => {
            a.r#type = AttributeType::Int as i32;
            a.i = *i;
        }
        Attr::Float(f) => {
            a.r#type = AttributeType::Float as i32;
            a.f = *f;
        }
        Attr::Ints(v) => {
            a.r#type = AttributeType::Ints as i32;
            a.ints.clone_from(v);
        }
    }
    a
}

/// A graph input/output description.
pub fn value_info(name: &str, elem: DataType, dims: &[Dim<'_>]) -> ValueInfoProto {
    let dim = dims
        .iter()
        .map(|d| tensor_shape_proto::Dimension {
            value: Some(match d {
                Dim::Fixed(v) => tensor_shape_proto::dimension::Value::DimValue(*v),
                Dim::Named(n) => tensor_shape_proto::dimension::Value::DimParam((*n).to_owned()),
            }),
            ..Default::default()
        })
        .collect();
    ValueInfoProto {
        name: name.to_owned(),
        r#type: Some(TypeProto {
            value: Some(type_proto::Value::TensorType(type_proto::Tensor {
                elem_type: elem as i32,
                shape: Some(TensorShapeProto { dim }),
            })),
            ..Default::default()
        }),
        ..Default::default()
    }
}
