//! WhatsApp Cloud API's mapping rules that do not depend on JSON: what an
//! inbound message's content shows as in the inbox. The HTTP adapter fills
//! [`Content`] from Meta's JSON; this module decides the text.
//!
//! Text by message `type`: `text` → `text.body`; `image`, `video`,
//! `document` → the caption when there is one; `button` → `button.text`;
//! `interactive` → the title of the button or list row picked; `reaction` →
//! the emoji (none when a reaction is removed); `location` → its name and
//! address, or `latitude,longitude`; `contacts` → the contacts' names;
//! `system` → `system.body`; anything else (audio, sticker, order,
//! unsupported, a type Meta adds later) → no text.

/// The part of an inbound message that decides its inbox text.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Content {
    /// `type: text`.
    Text {
        /// `text.body`.
        body: Option<String>,
    },
    /// `type: image`, `video` or `document`.
    Captioned {
        /// `<type>.caption`.
        caption: Option<String>,
    },
    /// `type: button`: a quick-reply button of a template.
    Button {
        /// `button.text`.
        text: Option<String>,
    },
    /// `type: interactive`: a reply button or list row picked.
    Interactive {
        /// `interactive.button_reply.title`, else `list_reply.title`.
        title: Option<String>,
    },
    /// `type: reaction`.
    Reaction {
        /// `reaction.emoji`; absent when a reaction is removed.
        emoji: Option<String>,
    },
    /// `type: system`.
    System {
        /// `system.body`.
        body: Option<String>,
    },
    /// `type: location`.
    Location {
        /// `location.name`.
        name: Option<String>,
        /// `location.address`.
        address: Option<String>,
        /// `location.latitude`.
        latitude: Option<f64>,
        /// `location.longitude`.
        longitude: Option<f64>,
    },
    /// `type: contacts`.
    Contacts {
        /// Each contact's `name.formatted_name`.
        names: Vec<String>,
    },
    /// Any other type: no text.
    Other,
}

impl Content {
    /// The text a reader of the inbox expects (see the module); `None` when
    /// the message has none. Empty strings count as absent.
    #[must_use]
    pub fn inbox_text(&self) -> Option<String> {
        let given = |s: &Option<String>| s.as_deref().filter(|s| !s.is_empty()).map(str::to_owned);
        match self {
            Self::Text { body } | Self::System { body } => given(body),
            Self::Captioned { caption } => given(caption),
            Self::Button { text } => given(text),
            Self::Interactive { title } => given(title),
            Self::Reaction { emoji } => given(emoji),
            Self::Location {
                name,
                address,
                latitude,
                longitude,
            } => {
                let named: Vec<String> = [given(name), given(address)]
                    .into_iter()
                    .flatten()
                    .collect();
                if named.is_empty() {
                    latitude
                        .zip(*longitude)
                        .map(|(lat, lon)| format!("{lat},{lon}"))
                } else {
                    Some(named.join(", "))
                }
            }
            Self::Contacts { names } => {
                let names: Vec<&str> = names
                    .iter()
                    .map(String::as_str)
                    .filter(|n| !n.is_empty())
                    .collect();
                (!names.is_empty()).then(|| names.join(", "))
            }
            Self::Other => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Content;

    fn s(v: &str) -> Option<String> {
        Some(v.to_owned())
    }

    #[test]
    fn each_kind_shows_the_text_a_reader_expects() {
        let location = |name: Option<String>, address: Option<String>| Content::Location {
            name,
            address,
            latitude: Some(1.5),
            longitude: Some(2.25),
        };
        let cases = [
            (Content::Text { body: s("Hello") }, s("Hello")),
            (Content::Text { body: s("") }, None),
            (Content::Captioned { caption: None }, None),
            (Content::Captioned { caption: s("Look") }, s("Look")),
            (Content::Button { text: s("Yes") }, s("Yes")),
            (
                Content::Interactive {
                    title: s("Option A"),
                },
                s("Option A"),
            ),
            (Content::Reaction { emoji: None }, None),
            (Content::System { body: s("changed") }, s("changed")),
            (location(None, None), s("1.5,2.25")),
            (location(s("Cafe"), s("Main St")), s("Cafe, Main St")),
            (location(None, s("Main St")), s("Main St")),
            (
                Content::Contacts {
                    names: vec!["Ann".into(), String::new(), "Bo".into()],
                },
                s("Ann, Bo"),
            ),
            (Content::Contacts { names: vec![] }, None),
            (Content::Other, None),
        ];
        for (content, text) in cases {
            assert_eq!(content.inbox_text(), text, "{content:?}");
        }
    }
}
