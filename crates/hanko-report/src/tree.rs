//! A report's XML as a small tree of elements, read by quick-xml under bounds: no document
//! type declaration (so no entity can be defined, let alone expanded), the five predefined
//! entities and character references only, at most [`Limits::max_depth`] levels and
//! [`Limits::max_elements`] elements.
//!
//! Names are local names (namespace prefixes dropped, `xmlns` not checked): reporters write
//! the RFC 9990 namespace, the draft's, none, or a prefix of their own.

use quick_xml::events::Event;
use quick_xml::Reader;

use crate::{Limits, ReportError};

/// One element: its local name, the namespace it declares for itself (when it does), its
/// text (trimmed, the pieces between children joined) and its children in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Element {
    pub(crate) name: String,
    pub(crate) namespace: Option<String>,
    pub(crate) text: String,
    pub(crate) children: Vec<Element>,
    /// Where the element is in the source text, start tag to end tag.
    pub(crate) span: std::ops::Range<usize>,
}

/// A parsed document: its root, what was repaired to read it, and the text it was read from.
pub(crate) struct Document<'t> {
    pub(crate) root: Element,
    pub(crate) repairs: Vec<String>,
    pub(crate) text: &'t str,
}

impl Document<'_> {
    /// The element's XML as written.
    pub(crate) fn raw(&self, element: &Element) -> &str {
        self.text.get(element.span.clone()).unwrap_or_default()
    }
}

impl Element {
    /// The first child named `name`.
    pub(crate) fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }

    /// Every child named `name`.
    pub(crate) fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }

    /// The text of the first child named `name`, when it has any.
    pub(crate) fn text_of(&self, name: &str) -> Option<&str> {
        self.child(name)
            .map(|c| c.text.as_str())
            .filter(|t| !t.is_empty())
    }
}

/// The local part of a qualified name.
fn local(name: &str) -> String {
    match name.rsplit_once(':') {
        Some((_, local)) => local.to_string(),
        None => name.to_string(),
    }
}

/// The namespace a start tag declares for its own name: `xmlns`, or `xmlns:PREFIX` when the
/// name is `PREFIX:local`.
fn namespace(start: &quick_xml::events::BytesStart<'_>) -> Option<String> {
    let name = start.name();
    let key = match name.as_ref().split_once(':') {
        Some((prefix, _)) => format!("xmlns:{prefix}"),
        None => "xmlns".to_string(),
    };
    start
        .attributes()
        .flatten()
        .find(|a| a.key.as_ref() == key)
        .map(|a| a.value.into_owned())
}

/// Parses `text` into its root element. Real reports are not always well-formed, so two
/// repairs are made and named in [`Document::repairs`]: an end tag closes the nearest open
/// element of its name (closing any left open inside it, such as an address written as
/// `<a@b.example>`), and elements left open at the end are closed. More end tags than start
/// tags is an error.
pub(crate) fn parse<'t>(text: &'t str, limits: &Limits) -> Result<Document<'t>, ReportError> {
    let mut repairs = Vec::new();
    let mut reader = Reader::from_str(text);
    reader.config_mut().check_end_names = false;
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    let mut elements = 0usize;
    loop {
        let position = reader.buffer_position();
        let event = reader.read_event().map_err(|e| ReportError::Xml {
            position,
            problem: e.to_string(),
        })?;
        match event {
            Event::Start(start) | Event::Empty(start) if root.is_some() => {
                let _ = start;
                return Err(ReportError::Xml {
                    position,
                    problem: "content after the root element".into(),
                });
            }
            Event::Start(start) => {
                elements += 1;
                if elements > limits.max_elements {
                    return Err(ReportError::TooLarge(format!(
                        "more than {} XML elements",
                        limits.max_elements
                    )));
                }
                if stack.len() >= limits.max_depth {
                    return Err(ReportError::TooLarge(format!(
                        "XML nested deeper than {} levels",
                        limits.max_depth
                    )));
                }
                stack.push(Element {
                    name: local(start.name().as_ref()),
                    namespace: namespace(&start),
                    span: offset(position)..offset(position),
                    ..Element::default()
                });
            }
            Event::Empty(start) => {
                elements += 1;
                if elements > limits.max_elements {
                    return Err(ReportError::TooLarge(format!(
                        "more than {} XML elements",
                        limits.max_elements
                    )));
                }
                let element = Element {
                    name: local(start.name().as_ref()),
                    span: offset(position)..offset(reader.buffer_position()),
                    ..Element::default()
                };
                match stack.last_mut() {
                    Some(parent) => parent.children.push(element),
                    None => root = Some(element),
                }
            }
            Event::End(end) => {
                let name = local(end.name().as_ref());
                let Some(open) = stack.iter().rposition(|e| e.name == name) else {
                    repairs.push(format!(
                        "an end tag </{name}> with no open <{name}> was skipped"
                    ));
                    continue;
                };
                let end = offset(reader.buffer_position());
                while stack.len() > open {
                    let Some(mut done) = stack.pop() else { break };
                    trim(&mut done.text);
                    done.span.end = end;
                    if stack.len() > open {
                        repairs.push(format!("<{}> was never closed", done.name));
                    }
                    match stack.last_mut() {
                        Some(parent) => parent.children.push(done),
                        None => root = Some(done),
                    }
                }
            }
            Event::Text(text) => append(&mut stack, &text.xml10_content()),
            Event::CData(data) => {
                append(&mut stack, &data.into_inner());
            }
            Event::GeneralRef(reference) => {
                let resolved = match reference.resolve_char_ref() {
                    Ok(Some(c)) => c.to_string(),
                    Ok(None) => match reference.xml10_content().as_ref() {
                        "amp" => "&".into(),
                        "lt" => "<".into(),
                        "gt" => ">".into(),
                        "quot" => "\"".into(),
                        "apos" => "'".into(),
                        other => {
                            return Err(ReportError::Xml {
                                position,
                                problem: format!("the entity &{other}; is not defined"),
                            })
                        }
                    },
                    Err(e) => {
                        return Err(ReportError::Xml {
                            position,
                            problem: e.to_string(),
                        })
                    }
                };
                append(&mut stack, &resolved);
            }
            Event::DocType(_) => {
                return Err(ReportError::Xml {
                    position,
                    problem: "a document type declaration (refused: it can define entities)".into(),
                })
            }
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
            Event::Eof => break,
        }
    }
    // Elements left open at the end: closed, outermost last.
    while let Some(mut done) = stack.pop() {
        trim(&mut done.text);
        done.span.end = text.len();
        repairs.push(format!("<{}> was never closed", done.name));
        match stack.last_mut() {
            Some(parent) => parent.children.push(done),
            None => root = Some(done),
        }
    }
    let root = root.ok_or_else(|| ReportError::Xml {
        position: 0,
        problem: "no root element".into(),
    })?;
    Ok(Document {
        root,
        repairs,
        text,
    })
}

/// A reader position as an index into the text.
fn offset(position: u64) -> usize {
    usize::try_from(position).unwrap_or(usize::MAX)
}

fn append(stack: &mut [Element], text: &str) {
    if let Some(open) = stack.last_mut() {
        open.text.push_str(text);
    }
}

/// White space around an element's text goes (between child elements it is layout).
fn trim(text: &mut String) {
    let trimmed = text.trim();
    if trimmed.len() != text.len() {
        *text = trimmed.to_string();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_local_and_entities_resolve() {
        let root = parse(
            "<?xml version=\"1.0\"?><f:feedback xmlns:f=\"urn:x\"><a> x &amp; y &#65; </a><b/></f:feedback>",
            &Limits::default(),
        )
        .unwrap()
        .root;
        assert_eq!(root.name, "feedback");
        assert_eq!(root.text_of("a"), Some("x & y A"));
        assert!(root.child("b").is_some());
    }

    #[test]
    fn broken_nesting_is_repaired_and_named() {
        let text = "<feedback><m><email><bad@example.net></email><id>1</id></m></feedback>";
        let document = parse(text, &Limits::default()).unwrap();
        let m = document.root.child("m").unwrap();
        assert_eq!(
            m.text_of("id"),
            Some("1"),
            "the rest of the report reads as written"
        );
        assert_eq!(document.repairs, ["<bad@example.net> was never closed"]);
        let open = parse("<feedback><a>1</a><b>2", &Limits::default()).unwrap();
        assert_eq!(open.root.text_of("b"), Some("2"));
        assert_eq!(
            open.repairs,
            ["<b> was never closed", "<feedback> was never closed"]
        );
    }

    #[test]
    fn doctypes_undefined_entities_depth_and_count_are_refused() {
        let bomb = "<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\"><!ENTITY lol2 \"&lol;&lol;\">]><feedback>&lol2;</feedback>";
        assert!(matches!(
            parse(bomb, &Limits::default()),
            Err(ReportError::Xml { .. })
        ));
        assert!(parse("<feedback>&lol;</feedback>", &Limits::default()).is_err());
        let deep = "<a>".repeat(100) + &"</a>".repeat(100);
        assert!(matches!(
            parse(&deep, &Limits::default()),
            Err(ReportError::TooLarge(_))
        ));
        let limits = Limits {
            max_elements: 10,
            ..Limits::default()
        };
        let wide = format!("<a>{}</a>", "<b/>".repeat(20));
        assert!(matches!(
            parse(&wide, &limits),
            Err(ReportError::TooLarge(_))
        ));
    }
}
