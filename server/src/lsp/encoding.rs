//! Position encodings (LSP 3.17 `general.positionEncodings`): what a `Position.character`
//! counts. UTF-16 code units unless the client offers something the server prefers.

use tower_lsp_server::ls_types::{ClientCapabilities, PositionEncodingKind};

/// The unit of `Position.character`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum PositionEncoding {
    /// UTF-8 code units (bytes).
    Utf8,
    /// UTF-16 code units: the protocol's default, which every client supports.
    #[default]
    Utf16,
    /// Unicode scalar values.
    Utf32,
}

impl PositionEncoding {
    /// Picks the encoding from what the client offers: UTF-8 (no conversion) first, then
    /// UTF-16, then UTF-32; UTF-16 when the client says nothing or offers nothing we know.
    pub fn negotiate(capabilities: &ClientCapabilities) -> PositionEncoding {
        let offered: Vec<PositionEncoding> = capabilities
            .general
            .as_ref()
            .and_then(|general| general.position_encodings.as_ref())
            .map(|kinds| {
                kinds
                    .iter()
                    .filter_map(PositionEncoding::from_kind)
                    .collect()
            })
            .unwrap_or_default();
        [
            PositionEncoding::Utf8,
            PositionEncoding::Utf16,
            PositionEncoding::Utf32,
        ]
        .into_iter()
        .find(|e| offered.contains(e))
        .unwrap_or_default()
    }

    pub fn from_kind(kind: &PositionEncodingKind) -> Option<PositionEncoding> {
        match kind.as_str() {
            "utf-8" => Some(PositionEncoding::Utf8),
            "utf-16" => Some(PositionEncoding::Utf16),
            "utf-32" => Some(PositionEncoding::Utf32),
            _ => None,
        }
    }

    pub fn kind(self) -> PositionEncodingKind {
        match self {
            PositionEncoding::Utf8 => PositionEncodingKind::UTF8,
            PositionEncoding::Utf16 => PositionEncodingKind::UTF16,
            PositionEncoding::Utf32 => PositionEncodingKind::UTF32,
        }
    }

    /// Length of `text` in this encoding's units.
    pub fn len(self, text: &str) -> u32 {
        let units = match self {
            PositionEncoding::Utf8 => text.len(),
            PositionEncoding::Utf16 => text.encode_utf16().count(),
            PositionEncoding::Utf32 => text.chars().count(),
        };
        u32::try_from(units).unwrap_or(u32::MAX)
    }

    /// Byte offset in `line` of `character` units; past the end clamps to the end (as the
    /// protocol asks), inside a character rounds down to its start.
    pub fn byte_offset(self, line: &str, character: u32) -> usize {
        let wanted = character as usize;
        match self {
            PositionEncoding::Utf8 => {
                let mut at = wanted.min(line.len());
                while !line.is_char_boundary(at) {
                    at -= 1;
                }
                at
            }
            PositionEncoding::Utf16 => {
                let mut units = 0usize;
                for (byte, ch) in line.char_indices() {
                    let next = units + ch.len_utf16();
                    if next > wanted {
                        return byte;
                    }
                    units = next;
                }
                line.len()
            }
            PositionEncoding::Utf32 => line
                .char_indices()
                .nth(wanted)
                .map_or(line.len(), |(byte, _)| byte),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use tower_lsp_server::ls_types::GeneralClientCapabilities;

    fn caps(kinds: Option<Vec<&'static str>>) -> ClientCapabilities {
        ClientCapabilities {
            general: Some(GeneralClientCapabilities {
                position_encodings: kinds
                    .map(|k| k.into_iter().map(PositionEncodingKind::from).collect()),
                ..GeneralClientCapabilities::default()
            }),
            ..ClientCapabilities::default()
        }
    }

    #[test]
    fn negotiation_prefers_utf8_and_defaults_to_utf16() {
        assert_eq!(
            PositionEncoding::negotiate(&ClientCapabilities::default()),
            PositionEncoding::Utf16
        );
        assert_eq!(
            PositionEncoding::negotiate(&caps(None)),
            PositionEncoding::Utf16
        );
        assert_eq!(
            PositionEncoding::negotiate(&caps(Some(vec!["utf-32", "utf-16"]))),
            PositionEncoding::Utf16
        );
        assert_eq!(
            PositionEncoding::negotiate(&caps(Some(vec!["utf-16", "utf-8"]))),
            PositionEncoding::Utf8
        );
        assert_eq!(
            PositionEncoding::negotiate(&caps(Some(vec!["utf-32"]))),
            PositionEncoding::Utf32
        );
        assert_eq!(
            PositionEncoding::negotiate(&caps(Some(vec!["latin-1"]))),
            PositionEncoding::Utf16
        );
    }

    #[test]
    fn offsets_in_each_encoding() {
        let line = "a😀é=1"; // 😀: 4 bytes, 2 UTF-16 units, 1 scalar
        assert_eq!(PositionEncoding::Utf16.len(line), 6);
        assert_eq!(PositionEncoding::Utf8.len(line), 9);
        assert_eq!(PositionEncoding::Utf32.len(line), 5);
        assert_eq!(PositionEncoding::Utf16.byte_offset(line, 3), 5);
        // Inside the surrogate pair: rounds down to the emoji's start.
        assert_eq!(PositionEncoding::Utf16.byte_offset(line, 2), 1);
        assert_eq!(PositionEncoding::Utf8.byte_offset(line, 3), 1);
        assert_eq!(PositionEncoding::Utf32.byte_offset(line, 2), 5);
        // Past the end clamps.
        assert_eq!(PositionEncoding::Utf16.byte_offset(line, 99), line.len());
        assert_eq!(PositionEncoding::Utf8.byte_offset(line, 99), line.len());
        assert_eq!(PositionEncoding::Utf32.byte_offset(line, 99), line.len());
    }
}
