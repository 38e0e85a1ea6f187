#!/usr/bin/perl
# Mail::DKIM (Debian libmail-dkim-perl) as an independent ARC peer for hanko's interop tests.
#
#   mail_dkim_arc_peer.pl verify PORT < message
#       the chain's status: none, pass or fail (the detail on standard error)
#   mail_dkim_arc_peer.pl seal PORT KEY DOMAIN SELECTOR SRVID < message
#       the message with a new ARC set; the seal's cv= comes from the arc= of the
#       Authentication-Results field of SRVID already in the message (Chain => 'ar')
#
# DNS: Net::DNS asks 127.0.0.1:PORT (hanko dns serve on a zone), never the network.
use strict;
use warnings;
use Mail::DKIM::ARC::Signer;
use Mail::DKIM::ARC::Verifier;
use Mail::DKIM::DNS;
use Net::DNS;

my ( $command, $port, @rest ) = @ARGV;
Mail::DKIM::DNS::resolver(
    Net::DNS::Resolver->new(
        nameservers => ['127.0.0.1'],
        port        => $port,
        recurse     => 1,
        udp_timeout => 5,
        tcp_timeout => 5,
    )
);

binmode STDIN;
binmode STDOUT;
my $message = do { local $/; <STDIN> };
$message =~ s/\015?\012/\015\012/g;

if ( $command eq 'verify' ) {
    my $arc = Mail::DKIM::ARC::Verifier->new();
    $arc->PRINT($message);
    $arc->CLOSE;
    print $arc->result, "\n";
    print STDERR ( $arc->result_detail // '' ), "\n";
}
elsif ( $command eq 'seal' ) {
    my ( $key, $domain, $selector, $srvid ) = @rest;
    my $arc = Mail::DKIM::ARC::Signer->new(
        Algorithm => 'rsa-sha256',
        Domain    => $domain,
        SrvId     => $srvid,
        Selector  => $selector,
        KeyFile   => $key,
        Chain     => 'ar',
        Headers   => 'from:to:subject:date',
    );
    $arc->PRINT($message);
    $arc->CLOSE;
    die "not sealed: " . ( $arc->{details} // $arc->result ) . "\n"
      unless $arc->result eq 'sealed';
    print $arc->as_string, $message;
}
else {
    die "usage: verify PORT | seal PORT KEY DOMAIN SELECTOR SRVID\n";
}
