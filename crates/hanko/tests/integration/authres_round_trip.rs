//! The Authentication-Results writer and parser are inverses: every field hanko writes parses
//! back (strictly) to the data it was written from, and no text placed in a value, a reason or
//! a comment can add a result, end the field or start another header.

use hanko::authres::{AuthenticationResults, MethodResult, ParseOptions, Property};

/// A small deterministic generator (xorshift64*), so a failure is reproducible by its seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
    /// Printable ASCII, biased towards the characters the grammar treats specially.
    fn text(&mut self, max: usize) -> String {
        const SPECIAL: &[char] = &[
            '(', ')', '"', '\\', ';', '=', '.', '/', '@', ' ', ':', ',', '[', ']',
        ];
        (0..self.below(max + 1))
            .map(|_| {
                if self.below(3) == 0 {
                    SPECIAL[self.below(SPECIAL.len())]
                } else {
                    (b'!' + self.below(94) as u8) as char
                }
            })
            .collect()
    }
    /// Any characters: control characters, CR/LF, non-ASCII.
    fn hostile(&mut self, max: usize) -> String {
        const NASTY: &[char] = &[
            '\r', '\n', '\0', '\t', '\u{7f}', 'é', '日', '(', ')', '"', '\\', ';',
        ];
        (0..self.below(max + 1))
            .map(|_| {
                if self.below(2) == 0 {
                    NASTY[self.below(NASTY.len())]
                } else {
                    (b' ' + self.below(95) as u8) as char
                }
            })
            .collect()
    }
}

const METHODS: &[(&str, &[&str])] = &[
    (
        "spf",
        &[
            "pass",
            "fail",
            "softfail",
            "neutral",
            "none",
            "temperror",
            "permerror",
        ],
    ),
    (
        "dkim",
        &[
            "pass",
            "fail",
            "policy",
            "neutral",
            "none",
            "temperror",
            "permerror",
        ],
    ),
    ("dmarc", &["pass", "fail", "none", "temperror", "permerror"]),
    (
        "dkim-adsp",
        &["pass", "unknown", "fail", "discard", "nxdomain", "none"],
    ),
    ("arc", &["pass", "fail", "none"]),
    ("x-custom", &["whatever", "pass"]),
];
const PROPERTIES: &[(&str, &str)] = &[
    ("smtp", "mailfrom"),
    ("smtp", "helo"),
    ("header", "d"),
    ("header", "i"),
    ("header", "s"),
    ("header", "b"),
    ("header", "from"),
    ("policy", "dmarc"),
];

fn random_field(rng: &mut Rng, text: fn(&mut Rng, usize) -> String) -> AuthenticationResults {
    let mut field = AuthenticationResults::new(&text(rng, 20));
    if rng.below(4) == 0 {
        field.version = Some(1);
    }
    for _ in 0..rng.below(5) {
        let (method, results) = METHODS[rng.below(METHODS.len())];
        let mut result = MethodResult::new(method, rng.pick(results));
        if rng.below(4) == 0 {
            result.method_version = Some(1);
        }
        if rng.below(3) == 0 {
            result.reason = Some(text(rng, 30));
        }
        for _ in 0..rng.below(3) {
            result.comments.push(text(rng, 40));
        }
        for _ in 0..rng.below(5) {
            let (ptype, name) = PROPERTIES[rng.below(PROPERTIES.len())];
            result.properties.push(Property {
                ptype: ptype.to_string(),
                name: name.to_string(),
                value: text(rng, 40),
            });
        }
        field.results.push(result);
    }
    field
}

#[test]
fn every_written_field_parses_back_to_its_data() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for round in 0..5_000 {
        let field = random_field(&mut rng, Rng::text);
        let written = field.to_field();
        let parsed = AuthenticationResults::parse(&written, ParseOptions::strict())
            .unwrap_or_else(|e| panic!("round {round}: {e}\n{written}\n{field:#?}"));
        assert_eq!(parsed, field, "round {round}:\n{written}");
    }
}

#[test]
fn hostile_text_never_escapes_its_place() {
    let mut rng = Rng(42);
    for round in 0..5_000 {
        let field = random_field(&mut rng, Rng::hostile);
        let written = field.to_field();
        assert!(written.is_ascii(), "round {round}: {written:?}");
        // Line breaks only as the writer's own folds, each followed by a tab.
        for (i, _) in written.match_indices("\r\n") {
            assert_eq!(written.as_bytes().get(i + 2), Some(&b'\t'), "{written:?}");
        }
        assert!(
            !written.contains('\0')
                && written.matches('\n').count() == written.matches("\r\n").count()
        );
        let parsed = AuthenticationResults::parse(&written, ParseOptions::strict())
            .unwrap_or_else(|e| panic!("round {round}: {e}\n{written:?}"));
        assert_eq!(parsed.results.len(), field.results.len(), "{written:?}");
        for (got, want) in parsed.results.iter().zip(&field.results) {
            assert_eq!((&got.method, &got.result), (&want.method, &want.result));
            assert_eq!(got.properties.len(), want.properties.len());
        }
        // Writing what was read changes nothing more.
        assert_eq!(parsed.to_field(), written);
    }
}

#[test]
fn a_crafted_value_cannot_forge_a_pass() {
    // The attacker controls d= and the reason text; the verdict is a failure.
    let field = AuthenticationResults {
        authserv_id: "mx.example.org".into(),
        version: None,
        results: vec![MethodResult::new("dkim", "fail")
            .with_comment("signature did not verify); dkim=pass (")
            .with_reason("x\"; dkim=pass header.d=bank.example; x=\"")
            .with_property(
                "header",
                "d",
                "evil.example;\r\n\tdkim=pass header.d=bank.example",
            )],
    };
    let written = field.to_field();
    for options in [ParseOptions::strict(), ParseOptions::lenient()] {
        let parsed = AuthenticationResults::parse(&written, options).unwrap();
        assert_eq!(parsed.results.len(), 1, "{written}");
        assert_eq!(parsed.results[0].result, "fail");
        assert!(parsed.results.iter().all(|r| r.result != "pass"));
    }
}

#[test]
fn a_field_of_100_kb_parses_in_one_pass() {
    let mut text = String::from("Authentication-Results: mx.example.org");
    for i in 0..1_500 {
        text.push_str(&format!(
            ";\r\n\tdkim=pass (comment {i} (nested)) header.d=d{i}.example header.s=sel{i}"
        ));
    }
    assert!(text.len() > 100_000);
    let field = AuthenticationResults::parse(&text, ParseOptions::strict()).unwrap();
    assert_eq!(field.results.len(), 1_500);
    // And 100 KB of garbage is an error, not a panic.
    let garbage: String = (0..100_000)
        .map(|i| ["(", "\"", ";", "=", "x"][i % 5])
        .collect();
    for options in [ParseOptions::strict(), ParseOptions::lenient()] {
        let _ = AuthenticationResults::parse(&garbage, options);
    }
}
