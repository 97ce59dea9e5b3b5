//! A minimal element tree over quick-xml for the XML headers rasters come with (ISCE
//! `.xml`, GDAL `.vrt`, SNAP `.dim`, GeoTIFF GDAL_METADATA): names, attributes, text and
//! children. (detect-core has its own for VOC labels; it depends on this crate, not the
//! other way round.)

use std::path::Path;

use quick_xml::Reader;
use quick_xml::escape::resolve_predefined_entity;
use quick_xml::events::{BytesStart, Event};

use crate::error::RasterError;

#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct Element {
    pub name: String,
    pub attrs: Vec<(String, String)>,
    /// The element's own text, trimmed.
    pub text: String,
    pub children: Vec<Element>,
}

impl Element {
    /// First child named `name` (ASCII case-insensitive: ISCE writes `width` and GDAL `WIDTH`).
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

/// Deepest nesting accepted: SNAP's metadata nests about a dozen deep; a bound keeps a
/// crafted file from exhausting the stack or the time.
const MAX_DEPTH: usize = 256;
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
        .map_err(|msg| RasterError::format(path, format!("not a readable {what}: {msg}")))
}

/// Parses `text` into its root element.
pub(crate) fn parse(text: &str) -> Result<Element, String> {
    let mut reader = Reader::from_str(text);
    let mut stack: Vec<Element> = vec![Element::default()];
    loop {
        let event = reader
            .read_event()
            .map_err(|e| format!("malformed XML at byte {}: {e}", reader.error_position()))?;
        match event {
            Event::Start(_) if stack.len() > MAX_DEPTH => {
                return Err(format!("elements nested deeper than {MAX_DEPTH}"));
            }
            Event::Start(e) => stack.push(element(&e)?),
            Event::Empty(e) => {
                let el = element(&e)?;
                push_child(&mut stack, el);
            }
            // The sentinel at the bottom is never popped: quick-xml refuses an end tag
            // without its start anyway.
            Event::End(_) if stack.len() > 1 => {
                let el = stack.pop().unwrap_or_default();
                push_child(&mut stack, el);
            }
            Event::Text(t) => {
                let s = t.xml_content().map_err(|e| format!("bad text: {e}"))?;
                append_text(&mut stack, &s);
            }
            Event::CData(t) => {
                let s = t.xml_content().map_err(|e| format!("bad CDATA: {e}"))?;
                append_text(&mut stack, &s);
            }
            Event::GeneralRef(r) => {
                let resolved = match r.resolve_char_ref() {
                    Ok(Some(c)) => c.to_string(),
                    _ => {
                        let name = r.decode().map(|n| n.into_owned()).unwrap_or_default();
                        resolve_predefined_entity(&name)
                            .ok_or_else(|| format!("unknown entity &{name};"))?
                            .to_string()
                    }
                };
                append_text(&mut stack, &resolved);
            }
            Event::Eof => break,
            _ => {}
        }
    }
    let mut top = stack
        .pop()
        .filter(|_| stack.is_empty())
        .ok_or("unexpected end of file: an element is not closed")?;
    top.children
        .pop()
        .filter(|_| top.children.is_empty())
        .ok_or_else(|| "expected exactly one root element".to_string())
}

fn element(e: &BytesStart) -> Result<Element, String> {
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
        assert!(parse(&deep).unwrap_err().contains("deeper than 256"));
    }
}
