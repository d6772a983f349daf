//! Realistic, reproducible webhook traffic.

use domain::{Message, MessageId, MessageText, Msisdn, Timestamp};

/// splitmix64: small, fast, deterministic.
#[derive(Debug, Clone)]
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n`.
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    /// Uniform in `[0, 1)`.
    pub(crate) fn unit(&mut self) -> f64 {
        #[expect(clippy::cast_precision_loss, reason = "53 bits are exact in f64")]
        let x = (self.next_u64() >> 11) as f64;
        x / (1_u64 << 53) as f64
    }
}

const WORDS: &[&str] = &[
    "hello",
    "order",
    "delivery",
    "payment",
    "refund",
    "invoice",
    "thanks",
    "please",
    "today",
    "tomorrow",
    "status",
    "update",
    "ticket",
    "support",
    "account",
    "password",
    "confirm",
    "cancel",
    "booking",
    "address",
    "shipped",
    "tracking",
    "number",
    "question",
    "price",
    "discount",
    "coupon",
    "weekend",
    "morning",
    "evening",
    "urgent",
    "available",
    "schedule",
    "meeting",
    "call",
    "later",
    "sorry",
    "great",
    "issue",
    "resolved",
    "pending",
    "received",
    "Ünïcode",
    "naïve",
    "café",
    "straße",
    "日本",
    "🙂",
];

/// A larger vocabulary with Zipf frequencies, as real text has: a few words
/// are everywhere, most are rare.
#[derive(Debug, Clone)]
pub(crate) struct Vocabulary {
    words: Vec<String>,
    cumulative: Vec<f64>,
}

impl Vocabulary {
    pub(crate) fn new(size: usize) -> Self {
        const SYLLABLES: &[&str] = &[
            "ka", "lo", "mi", "ne", "ru", "ta", "shi", "vo", "de", "pa", "zu", "ri", "bo", "le",
            "xa", "qui", "fen", "gor", "hal", "jin", "mor", "sel", "tur", "wex",
        ];
        let mut rng = Rng::new(42);
        let mut words = Vec::with_capacity(size);
        let mut seen = std::collections::HashSet::new();
        while words.len() < size {
            let n = 2 + rng.below(3);
            let w: String = (0..n)
                .map(|_| SYLLABLES[usize::try_from(rng.below(SYLLABLES.len() as u64)).unwrap_or(0)])
                .collect();
            if seen.insert(w.clone()) {
                words.push(w);
            }
        }
        let mut total = 0.0;
        let cumulative = (1..=size)
            .map(|rank| {
                #[expect(clippy::cast_precision_loss, reason = "small ranks")]
                let weight = 1.0 / rank as f64;
                total += weight;
                total
            })
            .collect::<Vec<_>>()
            .into_iter()
            .map(|c| c / total)
            .collect();
        Self { words, cumulative }
    }

    /// The word of this frequency rank (0 = most frequent).
    pub(crate) fn word(&self, rank: usize) -> &str {
        &self.words[rank.min(self.words.len() - 1)]
    }

    fn pick(&self, rng: &mut Rng) -> &str {
        let u = rng.unit();
        let i = self.cumulative.partition_point(|c| *c < u);
        self.word(i)
    }
}

/// The vocabulary every generated text draws from.
pub(crate) fn vocabulary() -> &'static Vocabulary {
    static VOCABULARY: std::sync::OnceLock<Vocabulary> = std::sync::OnceLock::new();
    VOCABULARY.get_or_init(|| Vocabulary::new(5000))
}

/// A pool of sender numbers, drawn with a skew: a few senders send most.
#[derive(Debug, Clone)]
pub(crate) struct Senders(Vec<String>);

impl Senders {
    pub(crate) fn new(count: usize, rng: &mut Rng) -> Self {
        Self(
            (0..count.max(1))
                .map(|_| format!("+91{:010}", rng.below(10_000_000_000)))
                .collect(),
        )
    }

    /// Index `floor(n * u^3)`: the first sender gets ~10 % of traffic at
    /// 5,000 senders, half the senders share ~20 %.
    pub(crate) fn pick<'a>(&'a self, rng: &mut Rng) -> &'a str {
        let u = rng.unit();
        #[expect(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            clippy::cast_precision_loss,
            reason = "bounded by len"
        )]
        let i = ((self.0.len() as f64) * u * u * u) as usize;
        &self.0[i.min(self.0.len() - 1)]
    }

    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }
}

/// One generated message's fields.
#[derive(Debug, Clone)]
pub(crate) struct Fields {
    pub(crate) id: String,
    pub(crate) from: String,
    pub(crate) to: String,
    pub(crate) ts: String,
    pub(crate) text: Option<String>,
}

impl Fields {
    pub(crate) fn json(&self) -> Vec<u8> {
        let mut v = serde_json::json!({
            "message_id": self.id, "from": self.from, "to": self.to, "ts": self.ts,
        });
        if let Some(t) = &self.text {
            v["text"] = serde_json::Value::from(t.as_str());
        }
        serde_json::to_vec(&v).unwrap_or_default()
    }

    pub(crate) fn message(&self) -> Option<Message> {
        Some(Message::new(
            MessageId::new(self.id.clone()).ok()?,
            Msisdn::new(self.from.clone()).ok()?,
            Msisdn::new(self.to.clone()).ok()?,
            Timestamp::parse(&self.ts).ok()?,
            self.text.clone().map(MessageText::new).transpose().ok()?,
        ))
    }
}

/// Seconds in 2025: timestamps spread over one year.
const YEAR_SECS: u64 = 365 * 24 * 3600;

pub(crate) fn fields(prefix: &str, n: u64, senders: &Senders, rng: &mut Rng) -> Fields {
    let secs = rng.below(YEAR_SECS);
    let (day, rem) = (secs / 86_400, secs % 86_400);
    let date = time::Date::from_ordinal_date(2025, u16::try_from(day + 1).unwrap_or(1))
        .unwrap_or(time::Date::MIN);
    let frac = match rng.below(4) {
        0 => String::new(),
        1 => format!(".{:03}", rng.below(1000)),
        _ => format!(".{:06}", rng.below(1_000_000)),
    };
    let ts = format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}{frac}Z",
        date.year(),
        u8::from(date.month()),
        date.day(),
        rem / 3600,
        (rem / 60) % 60,
        rem % 60
    );
    let text = (rng.below(20) != 0).then(|| {
        let target = 20 + usize::try_from(rng.below(181)).unwrap_or(0);
        let mut t = String::new();
        while t.chars().count() < target {
            if !t.is_empty() {
                t.push(' ');
            }
            if rng.below(10) < 3 {
                t.push_str(WORDS[usize::try_from(rng.below(WORDS.len() as u64)).unwrap_or(0)]);
            } else {
                t.push_str(vocabulary().pick(rng));
            }
        }
        t.chars().take(target).collect()
    });
    Fields {
        id: format!("{prefix}-{n:08}"),
        from: senders.pick(rng).to_owned(),
        to: "+14155550100".to_owned(),
        ts,
        text,
    }
}
