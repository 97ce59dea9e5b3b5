//! The project's one XML reader: a minimal element tree over quick-xml for the XML headers
//! rasters come with (ISCE `.xml`, GDAL `.vrt`, SNAP `.dim`, GeoTIFF GDAL_METADATA) and for
//! Pascal VOC labels (detect-core): names, attributes, text, children, and the line each
//! element starts on, for error messages that point into the file.

use std::path::Path;

use quick_xml::Reader;
use quick_xml::escape::resolve_predefined_entity;
use quick_xml::events::{BytesStart, Event};

use crate::error::RasterError;

#[derive(Debug, Default, Clone, PartialEq)]
pub struct Element {
    pub name: String,
    pub attrs: Vec<(String, String)>,
    /// The element's own text, trimmed.
    pub text: String,
    /// The line (from 1) of the start tag's closing `>`, where a person sees the tag.
    pub line: usize,
    pub children: Vec<Element>,
}

/// Why a document could not be read, and on which line (from 1).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct XmlError {
    pub line: usize,
    pub message: String,
}

impl Element {
    /// First child named `name` (ASCII case-insensitive: ISCE writes `width` and GDAL
    /// `WIDTH`; a VOC file's `<Object>` is an object).
    pub fn child(&self, name: &str) -> Option<&Element> {
        self.children
            .iter()
            .find(|c| c.name.eq_ignore_ascii_case(name))
    }

    pub fn children_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> {
        self.children
            .iter()
            .filter(move |c| c.name.eq_ignore_ascii_case(name))
    }

    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Text of the first descendant along `path` (`"Raster_Dimensions/NCOLS"`).
    pub fn text_at(&self, path: &str) -> Option<&str> {
        path.split('/')
            .try_fold(self, |el, name| el.child(name))
            .map(|el| el.text.as_str())
    }
}

/// Deepest nesting accepted: SNAP's metadata nests about a dozen deep, a VOC annotation
/// four; a bound keeps a crafted file from exhausting the stack or the time.
pub const MAX_DEPTH: usize = 256;
/// Largest header read: a SNAP `.dim` with a long processing history is a few MiB.
pub(crate) const MAX_XML_BYTES: u64 = 64 << 20;

/// Reads and parses the XML file at `path` (`what` names the kind of file in errors).
pub(crate) fn parse_file(path: &Path, what: &str) -> Result<Element, RasterError> {
    let len = std::fs::metadata(path)
        .map_err(|e| RasterError::io(path, e))?
        .len();
    if len > MAX_XML_BYTES {
        return Err(RasterError::format(
            path,
            format!("{len} bytes is too large for a {what} (at most {MAX_XML_BYTES})"),
        ));
    }
    let bytes = std::fs::read(path).map_err(|e| RasterError::io(path, e))?;
    parse(&String::from_utf8_lossy(&bytes))
        .map_err(|e| RasterError::format(path, format!("not a readable {what}: {e}")))
}

/// Parses `text` into its root element.
pub fn parse(text: &str) -> Result<Element, XmlError> {
    let mut reader = Reader::from_str(text);
    // No trimming by the reader: it would trim each piece of text around an entity
    // (`x &amp; y` would become `x&y`). Whole element texts are trimmed when they close.
    let lines = std::cell::RefCell::new(Lines::new(text));
    let line_at = |pos: u64| lines.borrow_mut().at(pos as usize);
    let err = |line: usize, message: String| XmlError { line, message };
    let mut stack: Vec<Element> = vec![Element::default()];
    loop {
        let event = reader.read_event().map_err(|e| {
            err(
                line_at(reader.error_position()),
                format!("malformed XML: {e}"),
            )
        })?;
        // The reader stands just past the event: for a tag that is its closing `>`.
        let line = line_at(reader.buffer_position().saturating_sub(1));
        match event {
            Event::Start(_) if stack.len() > MAX_DEPTH => {
                return Err(err(
                    line,
                    format!("elements nested deeper than {MAX_DEPTH}"),
                ));
            }
            Event::Start(e) => stack.push(element(&e, line).map_err(|m| err(line, m))?),
            Event::Empty(e) => {
                let el = element(&e, line).map_err(|m| err(line, m))?;
                push_child(&mut stack, el);
            }
            // The sentinel at the bottom is never popped: quick-xml refuses an end tag
            // without its start anyway.
            Event::End(_) if stack.len() > 1 => {
                let el = stack.pop().unwrap_or_default();
                push_child(&mut stack, el);
            }
            Event::Text(t) => {
                let s = t
                    .xml_content()
                    .map_err(|e| err(line, format!("bad text: {e}")))?;
                append_text(&mut stack, &s);
            }
            Event::CData(t) => {
                let s = t
                    .xml_content()
                    .map_err(|e| err(line, format!("bad CDATA: {e}")))?;
                append_text(&mut stack, &s);
            }
            Event::GeneralRef(r) => {
                let resolved = match r.resolve_char_ref() {
                    Ok(Some(c)) => c.to_string(),
                    _ => {
                        let name = r.decode().map(|n| n.into_owned()).unwrap_or_default();
                        resolve_predefined_entity(&name)
                            .ok_or_else(|| err(line, format!("unknown entity &{name};")))?
                            .to_string()
                    }
                };
                append_text(&mut stack, &resolved);
            }
            Event::Eof => break,
            _ => {}
        }
    }
    let mut top = stack.pop().filter(|_| stack.is_empty()).ok_or_else(|| {
        err(
            Lines::new(text).at(text.len()),
            "unexpected end of file: an element is not closed".into(),
        )
    })?;
    top.children
        .pop()
        .filter(|_| top.children.is_empty())
        .ok_or_else(|| err(1, "expected exactly one root element".into()))
}

fn element(e: &BytesStart, line: usize) -> Result<Element, String> {
    let mut attrs = Vec::new();
    for a in e.attributes() {
        let a = a.map_err(|e| format!("bad attribute: {e}"))?;
        let value = a
            .unescape_value()
            .map_err(|e| format!("bad attribute value: {e}"))?;
        attrs.push((
            String::from_utf8_lossy(a.key.as_ref()).into_owned(),
            value.into_owned(),
        ));
    }
    Ok(Element {
        name: String::from_utf8_lossy(e.name().as_ref()).into_owned(),
        attrs,
        line,
        ..Element::default()
    })
}

fn push_child(stack: &mut [Element], mut el: Element) {
    el.text = el.text.trim().to_string();
    if let Some(parent) = stack.last_mut() {
        parent.children.push(el);
    }
}

fn append_text(stack: &mut [Element], s: &str) {
    if let Some(el) = stack.last_mut() {
        el.text.push_str(s);
    }
}

/// Line numbers of byte positions, counted on from the last one asked (the reader's
/// positions only grow), so a long file costs one pass, not one per element.
struct Lines<'a> {
    text: &'a [u8],
    pos: usize,
    line: usize,
}

impl<'a> Lines<'a> {
    fn new(text: &'a str) -> Self {
        Self {
            text: text.as_bytes(),
            pos: 0,
            line: 1,
        }
    }

    fn at(&mut self, pos: usize) -> usize {
        let end = pos.min(self.text.len());
        if end < self.pos {
            (self.pos, self.line) = (0, 1);
        }
        self.line += self.text[self.pos..end]
            .iter()
            .filter(|&&b| b == b'\n')
            .count();
        self.pos = end;
        self.line
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attributes_text_entities_and_paths() {
        let root = parse(
            "<?xml version=\"1.0\"?>\n<a x=\"1 &amp; 2\">\n <B>x &lt; y</B>\n <c><d k='v'/></c>\n</a>",
        )
        .unwrap();
        assert_eq!(root.name, "a");
        assert_eq!(root.attr("X"), Some("1 & 2"));
        assert_eq!(root.child("b").unwrap().text, "x < y");
        assert_eq!(root.text_at("c/d").unwrap(), "");
        assert_eq!(
            root.child("c").unwrap().child("d").unwrap().attr("k"),
            Some("v")
        );
        assert_eq!(root.text_at("c/e"), None);
    }

    #[test]
    fn malformed_and_deep_documents_are_errors() {
        assert!(parse("<a><b>1</b>").is_err());
        assert!(parse("<a><b>1</c></a>").is_err());
        assert!(parse("<a/><b/>").is_err());
        let n = 100_000;
        let deep = "<a>".repeat(n) + &"</a>".repeat(n);
        let e = parse(&deep).unwrap_err();
        assert!(e.message.contains("deeper than 256") && e.line == 1, "{e}");
        let ok = "<a>".repeat(MAX_DEPTH) + &"</a>".repeat(MAX_DEPTH);
        assert!(parse(&ok).is_ok());
    }

    #[test]
    fn line_numbers_count_on_and_back() {
        let mut l = Lines::new("a\nb\nc\n");
        assert_eq!(
            (l.at(0), l.at(2), l.at(5), l.at(2), l.at(100)),
            (1, 2, 3, 2, 4)
        );
    }

    #[test]
    fn elements_and_errors_know_their_lines() {
        let root = parse("<a>\n <b>x &amp; y</b>\n <c><d>1</d></c>\n</a>\n").unwrap();
        assert_eq!(root.child("b").unwrap().text, "x & y");
        assert_eq!(root.child("b").unwrap().line, 2);
        assert_eq!(root.child("c").unwrap().line, 3);
        let e = parse("<a>\n<b>1</c>\n</a>").unwrap_err();
        assert_eq!(e.line, 2, "{e}");
        assert!(e.to_string().starts_with("line 2: "), "{e}");
    }
}
