#!/usr/bin/env bash
# The main job on the shipped examples: verify every examples/*.eml offline against
# examples/example.com.zone and print each verdict; then check SPF for three connections,
# audit two domains, analyze one message's headers, and run the library's receiver example.
set -uo pipefail
cd "$(dirname "$0")/.."
cargo build -q --release -p hanko-cli
for message in examples/*.eml; do
  echo "== $message"
  ./target/release/hanko --zone examples/example.com.zone verify "$message"
  echo "(exit status $?)"
done

# The whole receiver for one message: SPF for the connection, DKIM, DMARC and ADSP.
echo "== examples/signed-dual.eml received from 203.0.113.9 (SPF fails, DKIM aligns)"
./target/release/hanko --zone examples/example.com.zone verify --authserv-id mx.example.net \
  --ip 203.0.113.9 --helo mail.example.org --mail-from hanako@example.com examples/signed-dual.eml
echo "(exit status $?)"

# SPF for three connections claiming MAIL FROM example.com: its MX, an included provider's
# IPv6 range, and a stranger.
for ip in 198.51.100.25 2001:db8:5f::7 203.0.113.9; do
  echo "== SPF from $ip"
  ./target/release/hanko --zone examples/example.com.zone spf --ip "$ip" \
    --mail-from hanako@example.com --helo mail.example.org
done

# Domain audits: the good example.com, and one domain with three mistakes.
for domain in example.com monitor.example; do
  echo "== hanko check $domain"
  ./target/release/hanko --zone examples/example.com.zone --zone examples/broken.zone check "$domain"
  echo "(exit status $?)"
done

# The header analyzer on a message that went through a mailing list: both signatures broke,
# and the diagnosis says why.
echo "== hanko analyze examples/analyze/mailing-list.eml"
./target/release/hanko --zone examples/example.com.zone --zone examples/analyze/example.org.zone \
  analyze examples/analyze/mailing-list.eml

# A DMARC aggregate report for example.com: its own servers pass, an unsigned provider and a
# spoofer do not.
echo "== hanko report parse examples/reports/"
./target/release/hanko report parse examples/reports/

# The same receiver from the library, as the README's example shows it.
echo "== cargo run -p hanko --example receive < examples/message.eml"
cargo run -q --release -p hanko --example receive < examples/message.eml
