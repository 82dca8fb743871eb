//! `Reply`: text for people, built from parts that know whether they came from us or from
//! someone else, and rendered either as Telegram HTML (everything escaped) or as plain text.
//!
//! Keeping the structure until the last moment is what makes escaping impossible to forget:
//! nobody concatenates user text into markup by hand.

/// One piece of a reply.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    Bold(String),
    Code(String),
    Quoted(String),
}

/// A message to send back to the chat.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reply {
    parts: Vec<Part>,
}

impl Reply {
    /// An empty reply, to be built with the methods below.
    pub fn new() -> Self {
        Self::default()
    }

    /// Ordinary text.
    pub fn text(mut self, text: impl Into<String>) -> Self {
        self.parts.push(Part::Text(text.into()));
        self
    }

    /// Emphasised text (headings, outcomes).
    pub fn bold(mut self, text: impl Into<String>) -> Self {
        self.parts.push(Part::Bold(text.into()));
        self
    }

    /// Something to copy exactly: an ID, a command, a variable.
    pub fn code(mut self, text: impl Into<String>) -> Self {
        self.parts.push(Part::Code(text.into()));
        self
    }

    /// Someone else's words (a tag name, MantaGo's message), shown between quotes.
    pub fn quoted(mut self, text: impl Into<String>) -> Self {
        self.parts.push(Part::Quoted(text.into()));
        self
    }

    /// Renders for Telegram's `HTML` parse mode.
    pub fn to_html(&self) -> String {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Text(t) => out.push_str(&escape_html(t)),
                Part::Bold(t) => out.push_str(&format!("<b>{}</b>", escape_html(t))),
                Part::Code(t) => out.push_str(&format!("<code>{}</code>", escape_html(t))),
                Part::Quoted(t) => out.push_str(&format!("“{}”", escape_html(t))),
            }
        }
        out
    }

    /// Renders without any markup, for the console and for logs.
    pub fn to_plain(&self) -> String {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Text(t) | Part::Bold(t) | Part::Code(t) => out.push_str(t),
                Part::Quoted(t) => out.push_str(&format!("“{t}”")),
            }
        }
        out
    }
}

/// Escapes the three characters Telegram's HTML parse mode gives meaning to.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_escapes_every_part_and_plain_keeps_text_as_is() {
        let name = "<b>R&D</b> _x_ *y* [z](http://a)";
        let reply = Reply::new().bold("Created ").quoted(name).text(" on ").code("<id>");
        assert_eq!(
            reply.to_html(),
            "<b>Created </b>“&lt;b&gt;R&amp;D&lt;/b&gt; _x_ *y* [z](http://a)”<code>&lt;id&gt;</code>"
                .replace("<code>", " on <code>")
        );
        assert_eq!(reply.to_plain(), format!("Created “{name}” on <id>"));
    }
}
