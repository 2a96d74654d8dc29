//! A compact, columnar file of featurised training cells (`coral-train featurize`), so a
//! training machine that cannot read the corpus (a GPU machine) gets the exact inputs the
//! featurizer produced here, at ~1/10 the size of the notebooks.
//!
//! Layout (little endian), gzip-compressed as a whole:
//! `CORALSMP` · u32 format version · u32 header length · header JSON · the columns
//! `notebook: u64[n]`, one `u8[n]` per label set (255 = no weak label), `len: u16[n]`,
//! `nodes: u16[n]`, `token_ids: u16[Σlen]`, `segments: u8[Σlen]`, `node_of: u16[Σlen]`
//! (65535 = no node), `node_parent: u16[Σnodes]` (65535 = top level).
//! Columns of one kind lie together because they compress far better than records.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use coral_core::input::NO_NODE;
use coral_core::{ModelInput, Stage};
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use serde::{Deserialize, Serialize};

use crate::train::TrainSample;

const MAGIC: &[u8; 8] = b"CORALSMP";
const FORMAT_VERSION: u32 = 1;
const NO_LABEL: u8 = u8::MAX;
const NONE_U16: u16 = u16::MAX;

/// What the file was made from; checked against the vocabulary a run trains with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SamplesHeader {
    pub featurizer_version: String,
    pub vocab_sha256: String,
    pub vocab_size: usize,
    pub max_len: usize,
    pub markdown: bool,
    /// Names of the weak-label columns, e.g. `["builtin", "paper"]`.
    pub label_sets: Vec<String>,
    pub count: usize,
}

impl SamplesHeader {
    /// The header of `count` cells encoded with `vocab` and `options` by this build's
    /// featurizer, with the named label columns.
    pub fn new(
        vocab: &coral_core::Vocab,
        options: coral_core::EncodeOptions,
        label_sets: &[&str],
        count: usize,
    ) -> SamplesHeader {
        SamplesHeader {
            featurizer_version: coral_core::FEATURIZER_VERSION.to_owned(),
            vocab_sha256: vocab.sha256().to_owned(),
            vocab_size: vocab.len(),
            max_len: options.max_len,
            markdown: options.markdown,
            label_sets: label_sets.iter().map(|s| (*s).to_owned()).collect(),
            count,
        }
    }
}

/// One cell with one weak label per label set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MultiLabelSample {
    pub input: ModelInput,
    pub labels: Vec<Option<Stage>>,
    pub notebook: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum SamplesFileError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: not a coral samples file")]
    NotSamples { path: PathBuf },
    #[error("{path}: samples format {found}, this build reads {FORMAT_VERSION}")]
    Version { path: PathBuf, found: u32 },
    #[error("{path}: bad header: {message}")]
    Header { path: PathBuf, message: String },
    #[error("{path}: the file ends inside the {column} column")]
    Truncated { path: PathBuf, column: &'static str },
    #[error("{path}: no label set `{wanted}` (the file has {available:?})")]
    NoLabelSet {
        path: PathBuf,
        wanted: String,
        available: Vec<String>,
    },
    #[error("cell {index}: {what} does not fit the file's 16-bit columns")]
    TooLarge { index: usize, what: &'static str },
}

fn narrow(value: u32, index: usize, what: &'static str) -> Result<u16, SamplesFileError> {
    if value == NO_NODE {
        return Ok(NONE_U16);
    }
    u16::try_from(value)
        .ok()
        .filter(|&v| v != NONE_U16)
        .ok_or(SamplesFileError::TooLarge { index, what })
}

fn widen(value: u16) -> u32 {
    if value == NONE_U16 {
        NO_NODE
    } else {
        u32::from(value)
    }
}

fn stage_byte(label: Option<Stage>) -> u8 {
    label.map_or(NO_LABEL, |s| u8::try_from(s.index()).unwrap_or(NO_LABEL))
}

fn byte_stage(byte: u8) -> Option<Stage> {
    Stage::ALL.get(usize::from(byte)).copied()
}

/// Writes `samples` (all with `header.label_sets.len()` labels) to `path`.
pub fn write(
    path: &Path,
    header: &SamplesHeader,
    samples: &[MultiLabelSample],
) -> Result<(), SamplesFileError> {
    let io = |source| SamplesFileError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut columns: Vec<u8> = Vec::new();
    for s in samples {
        columns.extend_from_slice(&s.notebook.to_le_bytes());
    }
    for set in 0..header.label_sets.len() {
        columns.extend(
            samples
                .iter()
                .map(|s| stage_byte(s.labels.get(set).copied().flatten())),
        );
    }
    for (index, s) in samples.iter().enumerate() {
        let len = u16::try_from(s.input.len()).map_err(|_| SamplesFileError::TooLarge {
            index,
            what: "length",
        })?;
        columns.extend_from_slice(&len.to_le_bytes());
    }
    for (index, s) in samples.iter().enumerate() {
        let nodes =
            u16::try_from(s.input.node_parent.len()).map_err(|_| SamplesFileError::TooLarge {
                index,
                what: "node count",
            })?;
        columns.extend_from_slice(&nodes.to_le_bytes());
    }
    for (index, s) in samples.iter().enumerate() {
        for &id in &s.input.token_ids {
            columns.extend_from_slice(&narrow(id, index, "token id")?.to_le_bytes());
        }
    }
    for s in samples {
        columns.extend_from_slice(&s.input.segments);
    }
    for (index, s) in samples.iter().enumerate() {
        for &node in &s.input.node_of {
            columns.extend_from_slice(&narrow(node, index, "node id")?.to_le_bytes());
        }
    }
    for (index, s) in samples.iter().enumerate() {
        for &parent in &s.input.node_parent {
            columns.extend_from_slice(&narrow(parent, index, "parent id")?.to_le_bytes());
        }
    }
    let header_json = serde_json::to_vec(header).map_err(|e| SamplesFileError::Header {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    let file = File::create(path).map_err(io)?;
    let mut out = GzEncoder::new(BufWriter::new(file), flate2::Compression::best());
    out.write_all(MAGIC).map_err(io)?;
    out.write_all(&FORMAT_VERSION.to_le_bytes()).map_err(io)?;
    let header_len = u32::try_from(header_json.len()).unwrap_or(u32::MAX);
    out.write_all(&header_len.to_le_bytes()).map_err(io)?;
    out.write_all(&header_json).map_err(io)?;
    out.write_all(&columns).map_err(io)?;
    out.finish().map_err(io)?.flush().map_err(io)
}

/// Reads a whole samples file.
pub fn read(path: &Path) -> Result<(SamplesHeader, Vec<MultiLabelSample>), SamplesFileError> {
    let io = |source| SamplesFileError::Io {
        path: path.to_path_buf(),
        source,
    };
    let file = File::open(path).map_err(io)?;
    let mut bytes = Vec::new();
    GzDecoder::new(BufReader::new(file))
        .read_to_end(&mut bytes)
        .map_err(|_| SamplesFileError::NotSamples {
            path: path.to_path_buf(),
        })?;
    let mut cursor = Cursor {
        bytes: &bytes,
        at: 0,
        path,
    };
    if cursor.take(8, "magic")? != MAGIC {
        return Err(SamplesFileError::NotSamples {
            path: path.to_path_buf(),
        });
    }
    let version = cursor.u32("version")?;
    if version != FORMAT_VERSION {
        return Err(SamplesFileError::Version {
            path: path.to_path_buf(),
            found: version,
        });
    }
    let header_len = cursor.u32("header")? as usize;
    let header: SamplesHeader = serde_json::from_slice(cursor.take(header_len, "header")?)
        .map_err(|e| SamplesFileError::Header {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
    let n = header.count;
    let notebooks: Vec<u64> = (0..n)
        .map(|_| cursor.u64("notebook"))
        .collect::<Result<_, _>>()?;
    let mut label_columns = Vec::new();
    for _ in &header.label_sets {
        label_columns.push(cursor.take(n, "labels")?.to_vec());
    }
    let lens: Vec<usize> = (0..n)
        .map(|_| cursor.u16("len").map(usize::from))
        .collect::<Result<_, _>>()?;
    let nodes: Vec<usize> = (0..n)
        .map(|_| cursor.u16("nodes").map(usize::from))
        .collect::<Result<_, _>>()?;
    let total: usize = lens.iter().sum();
    let total_nodes: usize = nodes.iter().sum();
    let tokens = cursor.u16_column(total, "token_ids")?;
    let segments = cursor.take(total, "segments")?.to_vec();
    let node_of = cursor.u16_column(total, "node_of")?;
    let parents = cursor.u16_column(total_nodes, "node_parent")?;

    let (mut at, mut node_at) = (0, 0);
    let mut samples = Vec::with_capacity(n);
    for i in 0..n {
        let (len, count) = (lens[i], nodes[i]);
        samples.push(MultiLabelSample {
            input: ModelInput {
                token_ids: tokens[at..at + len].iter().map(|&t| u32::from(t)).collect(),
                segments: segments[at..at + len].to_vec(),
                node_of: node_of[at..at + len].iter().map(|&v| widen(v)).collect(),
                node_parent: parents[node_at..node_at + count]
                    .iter()
                    .map(|&v| widen(v))
                    .collect(),
            },
            labels: label_columns.iter().map(|c| byte_stage(c[i])).collect(),
            notebook: notebooks[i],
        });
        at += len;
        node_at += count;
    }
    Ok((header, samples))
}

/// The samples of one label set, as `train` takes them.
pub fn read_label_set(
    path: &Path,
    label_set: &str,
) -> Result<(SamplesHeader, Vec<TrainSample>), SamplesFileError> {
    let (header, samples) = read(path)?;
    let Some(column) = header.label_sets.iter().position(|s| s == label_set) else {
        return Err(SamplesFileError::NoLabelSet {
            path: path.to_path_buf(),
            wanted: label_set.to_owned(),
            available: header.label_sets.clone(),
        });
    };
    let samples = samples
        .into_iter()
        .map(|s| TrainSample {
            label: s.labels.get(column).copied().flatten(),
            input: s.input,
            notebook: s.notebook,
        })
        .collect();
    Ok((header, samples))
}

struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
    path: &'a Path,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize, column: &'static str) -> Result<&'a [u8], SamplesFileError> {
        let end = self.at.checked_add(n).filter(|&e| e <= self.bytes.len());
        let Some(end) = end else {
            return Err(SamplesFileError::Truncated {
                path: self.path.to_path_buf(),
                column,
            });
        };
        let slice = &self.bytes[self.at..end];
        self.at = end;
        Ok(slice)
    }

    fn u16(&mut self, column: &'static str) -> Result<u16, SamplesFileError> {
        let b = self.take(2, column)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }

    fn u32(&mut self, column: &'static str) -> Result<u32, SamplesFileError> {
        let b = self.take(4, column)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn u64(&mut self, column: &'static str) -> Result<u64, SamplesFileError> {
        let b = self.take(8, column)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_le_bytes(a))
    }

    fn u16_column(&mut self, n: usize, column: &'static str) -> Result<Vec<u16>, SamplesFileError> {
        let b = self.take(n.saturating_mul(2), column)?;
        Ok(b.chunks_exact(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(tokens: &[u32], label: Option<Stage>, other: Option<Stage>) -> MultiLabelSample {
        let len = tokens.len();
        MultiLabelSample {
            input: ModelInput {
                token_ids: tokens.to_vec(),
                segments: (0..len).map(|i| u8::from(i == len - 1)).collect(),
                node_of: (0..len)
                    .map(|i| if i == 0 { NO_NODE } else { i as u32 - 1 })
                    .collect(),
                node_parent: (0..len.saturating_sub(1))
                    .map(|i| if i == 0 { NO_NODE } else { 0 })
                    .collect(),
            },
            labels: vec![label, other],
            notebook: 0xDEAD_BEEF_0000 + len as u64,
        }
    }

    #[test]
    fn round_trip_keeps_every_column_and_label_set() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("s.bin.gz");
        let samples = vec![
            sample(&[2, 7, 9, 11], Some(Stage::Model), None),
            sample(&[2, 60_000], None, Some(Stage::Evaluate)),
            sample(
                &[2, 5, 5, 5, 5, 5],
                Some(Stage::Import),
                Some(Stage::Import),
            ),
        ];
        let header = SamplesHeader {
            featurizer_version: "v".into(),
            vocab_sha256: "abc".into(),
            vocab_size: 60_001,
            max_len: 160,
            markdown: true,
            label_sets: vec!["builtin".into(), "paper".into()],
            count: samples.len(),
        };
        write(&path, &header, &samples).expect("write");
        let (read_header, read_samples) = read(&path).expect("read");
        assert_eq!(read_header, header);
        assert_eq!(read_samples, samples);
        let (_, paper) = read_label_set(&path, "paper").expect("paper labels");
        let labels: Vec<_> = paper.iter().map(|s| s.label).collect();
        assert_eq!(
            labels,
            vec![None, Some(Stage::Evaluate), Some(Stage::Import)]
        );
        assert!(matches!(
            read_label_set(&path, "expert"),
            Err(SamplesFileError::NoLabelSet { .. })
        ));
    }

    #[test]
    fn truncated_and_foreign_files_are_errors_not_panics() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("s.bin.gz");
        let header = SamplesHeader {
            featurizer_version: "v".into(),
            vocab_sha256: "abc".into(),
            vocab_size: 20,
            max_len: 160,
            markdown: true,
            label_sets: vec!["builtin".into()],
            count: 1,
        };
        write(&path, &header, &[sample(&[2, 3, 4], None, None)]).expect("write");
        let mut raw = Vec::new();
        GzDecoder::new(File::open(&path).expect("open"))
            .read_to_end(&mut raw)
            .expect("gunzip");
        raw.truncate(raw.len() - 3);
        let mut enc = GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(&raw).expect("gzip");
        std::fs::write(&path, enc.finish().expect("gzip")).expect("write");
        assert!(matches!(
            read(&path),
            Err(SamplesFileError::Truncated { .. })
        ));
        std::fs::write(&path, b"not gzip at all").expect("write");
        assert!(matches!(
            read(&path),
            Err(SamplesFileError::NotSamples { .. })
        ));
    }
}
