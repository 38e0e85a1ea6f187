// The message both benchmarks use: crates/hanko/benches/hanko.rs and bench/compare include
// this file, so hanko's criterion figures and the comparison with mail-auth measure the same
// octets. Every body line has runs of spaces, relaxed canonicalization's slow case.

/// A message of about `size` octets (CRLF): a realistic header section and lines of text.
fn message(size: usize) -> Vec<u8> {
    let mut m = b"Received: from mail.example.com (mail.example.com [192.0.2.25])\r\n\
\tby mx.example.net (Postfix) with ESMTPS id 4Zx1y2z3;\r\n\
\tMon, 23 Nov 2026 10:00:00 +0000 (UTC)\r\n\
From: Hanako Yamada <hanako@example.com>\r\n\
To: Ann Example <ann@example.net>\r\n\
Subject: Quarterly figures, as promised\r\n\
Date: Mon, 23 Nov 2026 10:00:00 +0000\r\n\
Message-ID: <20261123100000.abcdef@example.com>\r\n\
MIME-Version: 1.0\r\n\
Content-Type: text/plain; charset=utf-8\r\n\r\n"
        .to_vec();
    let line = b"The quick brown fox jumps over the lazy dog;  then   rests a while.\r\n";
    while m.len() < size {
        m.extend_from_slice(line);
    }
    m
}
