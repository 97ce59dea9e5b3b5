//! A minimal element tree over quick-xml, enough for VOC annotations: element names,
//! their text, children, and the line each element starts on (for error messages).

use quick_xml::Reader;
use quick_xml::escape::resolve_predefined_entity;
use quick_xml::events::Event;

#[derive(Debug, Default)]
pub(crate) struct Element {
    pub name: String,
    pub text: String,
    pub line: usize,
    pub children: Vec<Element>,
}

impl Element {
    pub fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }

    pub fn children_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> {
        self.children.iter().filter(move |c| c.name == name)
    }
}

/// Deepest nesting accepted: a VOC annotation nests four deep (annotation, object, bndbox,
/// xmin); a bound keeps a crafted file from exhausting the stack or the time.
pub(crate) const MAX_DEPTH: usize = 64;

/// Parses `text` into its root element. Errors are `(line, message)`.
pub(crate) fn parse(text: &str) -> Result<Element, (usize, String)> {
    let mut reader = Reader::from_str(text);
    // No trimming by the reader: it would trim each piece of text around an entity
    // (`x &amp; y` would become `x&y`). Whole element texts are trimmed when they close.
    let lines = std::cell::RefCell::new(Lines::new(text));
    let line_at = |pos: u64| lines.borrow_mut().at(pos as usize);
    let mut stack: Vec<Element> = vec![Element::default()];
    loop {
        let event = reader.read_event().map_err(|e| {
            (
                line_at(reader.error_position()),
                format!("malformed XML: {e}"),
            )
        })?;
        // The reader stands just past the event: for a tag that is its closing `>`, the line
        // a person sees the tag on.
        let start = reader.buffer_position().saturating_sub(1);
        match event {
            Event::Start(_) if stack.len() > MAX_DEPTH => {
                return Err((
                    line_at(start),
                    format!("elements nested deeper than {MAX_DEPTH}: not an annotation"),
                ));
            }
            Event::Start(e) => stack.push(Element {
                name: String::from_utf8_lossy(e.name().as_ref()).into_owned(),
                line: line_at(start),
                ..Element::default()
            }),
            Event::Empty(e) => {
                let el = Element {
                    name: String::from_utf8_lossy(e.name().as_ref()).into_owned(),
                    line: line_at(start),
                    ..Element::default()
                };
                push_child(&mut stack, el);
            }
            // The sentinel at the bottom of the stack is never popped: quick-xml rejects an
            // end tag without a matching start anyway.
            Event::End(_) if stack.len() > 1 => {
                let el = stack.pop().unwrap_or_default();
                push_child(&mut stack, el);
            }
            Event::Text(t) => {
                let s = t
                    .xml_content()
                    .map_err(|e| (line_at(start), format!("bad text encoding: {e}")))?;
                append_text(&mut stack, &s);
            }
            Event::CData(t) => {
                let s = t
                    .xml_content()
                    .map_err(|e| (line_at(start), format!("bad CDATA encoding: {e}")))?;
                append_text(&mut stack, &s);
            }
            Event::GeneralRef(r) => {
                let resolved = match r.resolve_char_ref() {
                    Ok(Some(c)) => c.to_string(),
                    _ => {
                        let name = r.decode().map(|n| n.into_owned()).unwrap_or_default();
                        resolve_predefined_entity(&name)
                            .ok_or_else(|| (line_at(start), format!("unknown entity &{name};")))?
                            .to_string()
                    }
                };
                append_text(&mut stack, &resolved);
            }
            Event::Eof => break,
            _ => {}
        }
    }
    let mut top = stack.pop().filter(|_| stack.is_empty()).ok_or((
        line_of(text, text.len()),
        "unexpected end of file: an element is not closed".to_string(),
    ))?;
    top.children
        .pop()
        .filter(|_| top.children.is_empty())
        .ok_or((1, "expected exactly one root element".to_string()))
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

fn line_of(text: &str, pos: usize) -> usize {
    Lines::new(text).at(pos)
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

/// Escapes text content the way lxml serialises it (`&`, `<`, `>`).
pub(crate) fn escape_text(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 200,000 nested elements once overflowed the stack (a recursive drop).
    #[test]
    fn deep_nesting_is_an_error_not_a_stack_overflow() {
        let n = 200_000;
        let text = "<a>".repeat(n) + &"</a>".repeat(n);
        let (line, msg) = parse(&text).expect_err("too deep");
        assert_eq!(line, 1);
        assert!(msg.contains("deeper than 64"), "{msg}");
        let ok = "<a>".repeat(MAX_DEPTH) + &"</a>".repeat(MAX_DEPTH);
        assert!(parse(&ok).is_ok());
    }

    #[test]
    fn line_numbers_count_on_and_back() {
        let text = "a\nb\nc\n";
        let mut l = Lines::new(text);
        assert_eq!(
            (l.at(0), l.at(2), l.at(5), l.at(2), l.at(100)),
            (1, 2, 3, 2, 4)
        );
    }

    #[test]
    fn parses_nested_elements_with_lines_and_entities() {
        let root = parse("<a>\n <b>x &amp; y</b>\n <c><d>1</d></c>\n</a>\n").unwrap();
        assert_eq!(root.name, "a");
        assert_eq!(root.child("b").unwrap().text, "x & y");
        assert_eq!(root.child("b").unwrap().line, 2);
        assert_eq!(root.child("c").unwrap().child("d").unwrap().text, "1");
        assert_eq!(root.child("c").unwrap().line, 3);
    }

    #[test]
    fn unclosed_element_is_an_error() {
        assert!(parse("<a><b>1</b>").is_err());
    }

    #[test]
    fn mismatched_tag_is_an_error_with_line() {
        let (line, msg) = parse("<a>\n<b>1</c>\n</a>").unwrap_err();
        assert_eq!(line, 2, "{msg}");
    }
}
