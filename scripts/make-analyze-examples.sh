#!/usr/bin/env bash
# Writes the analyzer's example messages in examples/analyze/ (they are committed; run this
# only to change them). Each is signed by hanko with the example keys at a fixed time, then
# wrapped in the trace fields a real path adds:
#   gmail.eml            - as Gmail's "Show original" gives it: Postfix submission, Google's
#                          MX with TLS 1.3, Received-SPF, ARC, Authentication-Results.
#   outlook-headers.txt  - headers only, as pasted from Outlook: Exchange Online's internal
#                          hops over IPv6, Microsoft's anti-spam fields, an Authentication-
#                          Results without authserv-id, continuation lines that lost their
#                          indentation, CRLF line ends; Japanese Subject in ISO-2022-JP.
#   mailing-list.eml     - through a mailing list (Postfix) that tagged the Subject and
#                          appended a footer after a 7-minute moderation delay: both DKIM
#                          signatures break, and the diagnosis names both changes. The list
#                          recorded the original's results on receipt and sealed its copy
#                          (hanko arc seal --from-results): the ARC chain validates.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build -q -p hanko-cli
hanko=./target/debug/hanko
out=examples/analyze
mkdir -p "$out"
t=1795392000 # 2026-11-23T00:00:00Z

sign() { # sign FILE -> signed message on stdout (RSA and Ed25519, relaxed/relaxed)
  "$hanko" sign --domain example.com --key examples/ed2026.private --selector ed2026 \
    --key examples/rsa2026.private --selector rsa2026 --timestamp "$t" "$1"
}
b_of() { # the first 8 characters of b= of the signature with selector $2 in file $1
  tr -d '\r' <"$1" | awk -v sel="$2" '
    /^DKIM-Signature:/ { sig = $0; inside = 1; next }
    inside && /^[ \t]/ { sig = sig $0; next }
    inside { inside = 0; if (index(sig, "s=" sel ";")) { print sig; exit } }' |
    tr -d ' \t' | sed -e 's/.*;b=//' | cut -c1-8
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# --- gmail.eml ------------------------------------------------------------------------------
cat >"$tmp/submitted.eml" <<'EOF'
Received: from [10.0.0.5] (unknown [203.0.113.77])
	by mail.example.com (Postfix) with ESMTPSA id 4Xq7Yz1AbCz9sQ
	for <taro.suzuki@gmail.com>; Mon, 23 Nov 2026 09:00:01 +0900 (JST)
From: =?UTF-8?B?5bGx55SwIOiKseWtkA==?= <hanako@example.com>
To: Taro Suzuki <taro.suzuki@gmail.com>
Subject: Quarterly report
Date: Mon, 23 Nov 2026 09:00:00 +0900
Message-ID: <20261123090000.1234@mail.example.com>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8

Hello Taro,

the report is in the shared folder.

Hanako
EOF
sign "$tmp/submitted.eml" >"$tmp/signed.eml"
b=$(b_of "$tmp/signed.eml" rsa2026)
{
  cat <<EOF
Delivered-To: taro.suzuki@gmail.com
Received: by 2002:a05:6a10:9f4c:b0:5e2:3a1:7c5d with SMTP id c12csp1234567pxs;
        Sun, 22 Nov 2026 16:00:04 -0800 (PST)
X-Google-Smtp-Source: AGHT+IFexampleexampleexampleexample
X-Received: by 2002:a17:90b:1c8f:b0:2f4:4500:e6c3 with SMTP id oo15mr1234567pjb.12.1795392004123;
        Sun, 22 Nov 2026 16:00:04 -0800 (PST)
ARC-Seal: i=1; a=rsa-sha256; t=1795392003; cv=none;
        d=google.com; s=arc-20240605;
        b=ZXhhbXBsZSBBUkMgc2VhbCwgbm90IGEgcmVhbCBzaWduYXR1cmU=
ARC-Message-Signature: i=1; a=rsa-sha256; c=relaxed/relaxed; d=google.com; s=arc-20240605;
        h=message-id:date:subject:to:from:dkim-signature;
        bh=ZXhhbXBsZSBib2R5IGhhc2g=;
        b=ZXhhbXBsZSBBTVMsIG5vdCBhIHJlYWwgc2lnbmF0dXJl
ARC-Authentication-Results: i=1; mx.google.com;
       dkim=pass header.i=@example.com header.s=rsa2026 header.b=$b;
       spf=pass (google.com: domain of hanako@example.com designates 192.0.2.10 as permitted sender) smtp.mailfrom=hanako@example.com;
       dmarc=pass (p=REJECT sp=REJECT dis=NONE) header.from=example.com
Return-Path: <hanako@example.com>
Received: from mail.example.com (mail.example.com. [192.0.2.10])
        by mx.google.com with ESMTPS id d9443c01a7336-21f0a1b2c3dsi1234567.2026.11.23.16.00.03
        for <taro.suzuki@gmail.com>
        (version=TLS1_3 cipher=TLS_AES_256_GCM_SHA384 bits=256/256);
        Sun, 22 Nov 2026 16:00:03 -0800 (PST)
Received-SPF: pass (google.com: domain of hanako@example.com designates 192.0.2.10 as permitted sender) client-ip=192.0.2.10;
Authentication-Results: mx.google.com;
       dkim=pass header.i=@example.com header.s=rsa2026 header.b=$b;
       spf=pass (google.com: domain of hanako@example.com designates 192.0.2.10 as permitted sender) smtp.mailfrom=hanako@example.com;
       dmarc=pass (p=REJECT sp=REJECT dis=NONE) header.from=example.com
EOF
  cat "$tmp/signed.eml"
} >"$out/gmail.eml"

# --- outlook-headers.txt --------------------------------------------------------------------
cat >"$tmp/submitted.eml" <<'EOF'
Received: from [10.0.0.5] (unknown [203.0.113.77])
	by mail.example.com (Postfix) with ESMTPSA id 4Xq8Ab2CdEz9sR
	for <taro@contoso.example>; Mon, 23 Nov 2026 09:00:02 +0900 (JST)
From: =?UTF-8?B?5bGx55SwIOiKseWtkA==?= <hanako@example.com>
To: =?ISO-2022-JP?B?GyRCTmtMWhsoQiAbJEJCQE86GyhC?= <taro@contoso.example>
Subject: =?ISO-2022-JP?B?GyRCO01IPjR8SnM5cCRON28bKEI=?=
Date: Mon, 23 Nov 2026 09:00:00 +0900
Message-ID: <20261123090000.5678@mail.example.com>
MIME-Version: 1.0
Content-Type: text/plain; charset=ISO-2022-JP

Body not shown by Outlook's "Internet headers" box.
EOF
sign "$tmp/submitted.eml" >"$tmp/signed.eml"
{
  cat <<'EOF'
Received: from TYCPR01MB8000.jpnprd01.prod.outlook.com (2603:1096:400:1::10) by
 OS3PR01MB6000.jpnprd01.prod.outlook.com with HTTPS; Mon, 23 Nov 2026 00:00:06
 +0000
Received: from TYAPR01CA0001.jpnprd01.prod.outlook.com (2603:1096:404:1::13)
 by TYCPR01MB8000.jpnprd01.prod.outlook.com (2603:1096:400:1::10) with
 Microsoft SMTP Server (version=TLS1_2,
 cipher=TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384) id 15.20.8000.10; Mon, 23 Nov
 2026 00:00:05 +0000
Received: from OS1PEPF00001000.jpnprd01.prod.outlook.com
 (2603:1096:404:1::4) by TYAPR01CA0001.outlook.office365.com
 (2603:1096:404:1::13) with Microsoft SMTP Server (version=TLS1_3,
 cipher=TLS_AES_256_GCM_SHA384) id 15.20.8000.11 via Frontend Transport; Mon,
 23 Nov 2026 00:00:05 +0000
Authentication-Results: spf=pass (sender IP is 192.0.2.10)
 smtp.mailfrom=example.com; dkim=pass (signature was verified)
 header.d=example.com;dmarc=pass action=none
 header.from=example.com;compauth=pass reason=100
Received-SPF: Pass (protection.outlook.com: domain of example.com designates
 192.0.2.10 as permitted sender) receiver=protection.outlook.com;
 client-ip=192.0.2.10; helo=mail.example.com; pr=C
Received: from mail.example.com (192.0.2.10) by
 OS1PEPF00001000.mail.protection.outlook.com (10.167.240.10) with Microsoft
 SMTP Server (version=TLS1_3, cipher=TLS_AES_256_GCM_SHA384) id 15.20.8000.9
 via Frontend Transport; Mon, 23 Nov 2026 00:00:04 +0000
EOF
  # The signed header section, with the indentation of the b= continuation lines lost, as
  # some copies from a mail client's window do.
  tr -d '\r' <"$tmp/signed.eml" | sed -n '1,/^$/p' | sed '/^$/d' |
    awk '/^[^ \t]/ { insig = ($0 ~ /^DKIM-Signature:/); inb = 0 }
         insig && /; b=/ { inb = 1; print; next }
         insig && inb && /^[ \t]/ { sub(/^[ \t]+/, ""); print; next }
         { print }'
  cat <<'EOF'
X-MS-Exchange-Organization-SCL: 1
X-Forefront-Antispam-Report: CIP:192.0.2.10;CTRY:JP;LANG:ja;SCL:1;SRV:;IPV:NLI;SFV:NSPM;H:mail.example.com;PTR:mail.example.com;CAT:NONE;SFS:(13230040)(8096899003);DIR:INB;
X-Microsoft-Antispam: BCL:0;ARA:13230040|8096899003;
X-MS-Exchange-CrossTenant-Network-Message-Id: 0c2e4a9b-7f0e-4d1f-9c35-08dd0a1b2c3d
EOF
} | sed 's/$/\r/' >"$out/outlook-headers.txt"

# --- mailing-list.eml -----------------------------------------------------------------------
cat >"$tmp/submitted.eml" <<'EOF'
Received: from [10.0.0.5] (unknown [203.0.113.77])
	by mail.example.com (Postfix) with ESMTPSA id 4Xq9Cd3EfGz9sS
	for <team@lists.example.org>; Mon, 23 Nov 2026 09:00:01 +0900 (JST)
From: Hanako Yamada <hanako@example.com>
To: team@lists.example.org
Subject: Release on Friday
Date: Mon, 23 Nov 2026 09:00:00 +0900
Message-ID: <20261123090000.9012@mail.example.com>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8

Hi all,

the release moves to Friday.

Hanako
EOF
sign "$tmp/submitted.eml" >"$tmp/signed.eml"
b=$(b_of "$tmp/signed.eml" rsa2026)
# What the list's server recorded when the message arrived, then the list's changes: the
# Subject tag, its own fields, the footer. Then it seals its copy with those results.
{
  cat <<EOF
List-Id: Team discussion <team.lists.example.org>
List-Unsubscribe: <mailto:team-leave@lists.example.org>
Authentication-Results: lists.example.org;
	dkim=pass header.d=example.com header.s=rsa2026 header.b=$b;
	spf=pass smtp.mailfrom=hanako@example.com;
	dmarc=pass header.from=example.com;
	arc=none
Received: from mail.example.com (mail.example.com [192.0.2.10])
	by lists.example.org (Postfix) with ESMTPS id 4XqA0b1C2dz5rT
	(version=TLSv1.3 cipher=TLS_AES_256_GCM_SHA384 bits=256/256)
	for <team@lists.example.org>; Mon, 23 Nov 2026 00:00:02 +0000 (UTC)
EOF
  sed -e 's/^Subject: Release on Friday$/Subject: [team] Release on Friday/' "$tmp/signed.eml"
  cat <<'EOF'
_______________________________________________
team mailing list -- team@lists.example.org
To unsubscribe send an email to team-leave@lists.example.org
EOF
} >"$tmp/listed.eml"
"$hanko" arc seal --from-results --authserv-id lists.example.org --domain lists.example.org \
  --selector arc2026 --key examples/rsa2026.private --timestamp $((t + 452)) \
  "$tmp/listed.eml" >"$tmp/sealed.eml"
{
  cat <<EOF
Authentication-Results: mx.example.net;
	dkim=fail (body hash did not verify) header.d=example.com header.s=rsa2026 header.b=$b;
	spf=pass smtp.mailfrom=team-bounces@lists.example.org;
	dmarc=fail (p=reject) header.from=example.com;
	arc=pass header.oldest-pass=1 smtp.remote-ip=198.51.100.77
Received: from lists.example.org (lists.example.org [198.51.100.77])
	by mx.example.net (Postfix) with ESMTPS id 4XqB1c2D3ez7tU
	(version=TLSv1.3 cipher=TLS_AES_256_GCM_SHA384 bits=256/256)
	for <suzie@example.net>; Mon, 23 Nov 2026 00:07:35 +0000 (UTC)
Return-Path: <team-bounces@lists.example.org>
EOF
  cat "$tmp/sealed.eml"
} >"$out/mailing-list.eml"

{
  cat <<'EOF'
; The mailing list's domain for examples/analyze/mailing-list.eml: its SPF policy and its
; ARC sealing key (the example RSA key).
$ORIGIN example.org.
lists IN TXT "v=spf1 ip4:198.51.100.77 -all"
EOF
  "$hanko" keygen --from-key examples/rsa2026.private --domain lists.example.org \
    --selector arc2026 | head -n 3
} >"$out/example.org.zone"
echo "wrote $(ls "$out" | wc -l) files in $out"
