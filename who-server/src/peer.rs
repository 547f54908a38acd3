//! What a request over TLS shows of its connection (the `tls` feature): the
//! TLS version and the subject of each certificate the client sent, as
//! traefik/whoami prints them (`Certificate[0] Subject: CN=client,O=Org`).
//!
//! The subject is read from the certificate's DER by the few lines below
//! rather than by an X.509 crate: only the subject is wanted, the bytes
//! were already taken apart by rustls' handshake, and x509-parser or
//! x509-cert would add their whole parsers to a size-budgeted binary for it.

use std::fmt::Write;
use std::sync::Arc;

/// A request's connection, as a request extension; absent on plain text.
#[derive(Clone, Debug)]
pub struct Tls(pub Arc<Peer>);

#[derive(Debug, Default)]
pub struct Peer {
    /// Go's `tls.VersionName`: `TLS 1.3`.
    pub version: &'static str,
    /// One per certificate the client sent, in its order, leaf first.
    pub subjects: Vec<String>,
}

/// The subject of a DER certificate as Go's `pkix.Name.String()` writes
/// it, or `None` if the bytes are not a certificate.
pub fn subject(der: &[u8]) -> Option<String> {
    // Certificate ::= SEQUENCE { tbsCertificate SEQUENCE { [0] version
    // OPTIONAL, serialNumber, signature, issuer, validity, subject, … } … }
    let (cert, _) = expect(der, SEQUENCE)?;
    let (mut tbs, _) = expect(cert, SEQUENCE)?;
    let (tag, _, rest) = tlv(tbs)?;
    if tag == 0xa0 {
        tbs = rest;
    }
    // serialNumber, signature, issuer, validity.
    for _ in 0..4 {
        tbs = tlv(tbs)?.2;
    }
    let (name, _) = expect(tbs, SEQUENCE)?;
    go_name(name)
}

const SEQUENCE: u8 = 0x30;
const SET: u8 = 0x31;
const OID: u8 = 0x06;

/// The attributes Go's `pkix.Name` has fields for, in the order its
/// `ToRDNSequence` writes them (`String` then reverses it), with their
/// short names; the last byte of their OIDs 2.5.4.x.
const NAMED: [(u8, &str); 9] = [
    (6, "C"),
    (8, "ST"),
    (7, "L"),
    (9, "STREET"),
    (17, "POSTALCODE"),
    (10, "O"),
    (11, "OU"),
    (3, "CN"),
    (5, "SERIALNUMBER"),
];

/// Go's `Name.String()`: the named attributes in its order, several values
/// of one joined by `+` (only the last CN and serial number count, as in
/// Go), then every other attribute as `OID=#hex` of its DER, all reversed.
fn go_name(mut name: &[u8]) -> Option<String> {
    let mut named: [Vec<String>; NAMED.len()] = Default::default();
    let mut others = Vec::new();
    while !name.is_empty() {
        let (mut set, rest) = expect(name, SET)?;
        name = rest;
        while !set.is_empty() {
            let (attribute, rest) = expect(set, SEQUENCE)?;
            set = rest;
            let (oid, value) = expect(attribute, OID)?;
            let (tag, content, _) = tlv(value)?;
            let text = string(tag, content);
            let at = match oid {
                [0x55, 0x04, last] => NAMED.iter().position(|(n, _)| n == last),
                _ => None,
            };
            match (at, text) {
                (Some(at), Some(text)) => {
                    // CN and SERIALNUMBER are single strings in Go: the last wins.
                    if NAMED[at].0 == 3 || NAMED[at].0 == 5 {
                        named[at].clear();
                    }
                    named[at].push(text);
                }
                // Go skips a named attribute whose value is not a string.
                (Some(_), None) => {}
                (None, text) => others.push(other(oid, value, text)?),
            }
        }
    }
    let mut rdns: Vec<String> = others;
    for (values, (_, short)) in named.iter().zip(NAMED) {
        if values.is_empty() {
            continue;
        }
        let mut rdn = String::new();
        for (i, value) in values.iter().enumerate() {
            if i > 0 {
                rdn.push('+');
            }
            let _ = write!(rdn, "{short}={}", escape(value));
        }
        rdns.push(rdn);
    }
    rdns.reverse();
    Some(rdns.join(","))
}

/// An attribute Go has no name for: its OID dotted, `=#`, and the hex of
/// its value as Go's `asn1.Marshal` encodes it again; a string becomes a
/// PrintableString if it can be one, else a UTF8String.
fn other(oid: &[u8], value: &[u8], text: Option<String>) -> Option<String> {
    let mut out = dotted(oid)?;
    out.push_str("=#");
    let encoded;
    let der = match text {
        Some(text) => {
            let tag = if text.bytes().all(printable) {
                0x13
            } else {
                0x0c
            };
            encoded = encode(tag, text.as_bytes());
            &encoded[..]
        }
        None => value,
    };
    for byte in der {
        let _ = write!(out, "{byte:02x}");
    }
    Some(out)
}

/// Go's `asn1` PrintableString characters when it marshals (no `*`, no `&`).
fn printable(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b" '()+,-./:=?".contains(&b)
}

fn encode(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
    out.extend_from_slice(content);
    out
}

/// `2.5.4.3` from the OID's content bytes.
fn dotted(oid: &[u8]) -> Option<String> {
    let mut arcs = Vec::new();
    let mut arc: u64 = 0;
    for &b in oid {
        arc = arc.checked_mul(128)? | u64::from(b & 0x7f);
        if b & 0x80 == 0 {
            arcs.push(arc);
            arc = 0;
        }
    }
    let first = *arcs.first()?;
    let (a, b) = match first {
        0..40 => (0, first),
        40..80 => (1, first - 40),
        _ => (2, first - 80),
    };
    let mut out = format!("{a}.{b}");
    for arc in &arcs[1..] {
        let _ = write!(out, ".{arc}");
    }
    Some(out)
}

/// The ASN.1 string types Go reads into a Go string.
fn string(tag: u8, content: &[u8]) -> Option<String> {
    match tag {
        // UTF8String, NumericString, PrintableString, T61String, IA5String.
        0x0c | 0x12 | 0x13 | 0x14 | 0x16 => Some(String::from_utf8_lossy(content).into_owned()),
        // BMPString: UTF-16, big-endian.
        0x1e if content.len() % 2 == 0 => {
            let units = content.chunks(2).map(|c| u16::from_be_bytes([c[0], c[1]]));
            Some(
                char::decode_utf16(units)
                    .map(|c| c.unwrap_or('\u{fffd}'))
                    .collect(),
            )
        }
        _ => None,
    }
}

/// Go's escaping in `RDNSequence.String`: `,+"\<>;` anywhere, a space at
/// either end, a `#` at the start.
fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for (k, c) in value.char_indices() {
        let escaped = match c {
            ',' | '+' | '"' | '\\' | '<' | '>' | ';' => true,
            ' ' => k == 0 || k == value.len() - 1,
            '#' => k == 0,
            _ => false,
        };
        if escaped {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The content of a `tag` element at the start of `der`, and what follows.
fn expect(der: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
    match tlv(der)? {
        (t, content, rest) if t == tag => Some((content, rest)),
        _ => None,
    }
}

/// One DER element: its tag, its content and what follows it. Lengths of
/// up to four bytes: a certificate is far smaller than 4 GiB.
fn tlv(der: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = der.split_first()?;
    let (&first, mut rest) = rest.split_first()?;
    let len = if first < 0x80 {
        usize::from(first)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let len = rest[..n]
            .iter()
            .fold(0usize, |len, b| len << 8 | usize::from(*b));
        rest = &rest[n..];
        len
    };
    (rest.len() >= len).then(|| (tag, &rest[..len], &rest[len..]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rcgen::{CertificateParams, DnType, KeyPair};

    fn subject_of(dn: &[(DnType, &str)]) -> Option<String> {
        let mut params = CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
        params.distinguished_name = rcgen::DistinguishedName::new();
        for (kind, value) in dn {
            params.distinguished_name.push(kind.clone(), *value);
        }
        let key = KeyPair::generate().unwrap();
        subject(params.self_signed(&key).unwrap().der())
    }

    #[test]
    fn the_subject_is_written_as_go_writes_it_common_name_first() {
        let got = subject_of(&[
            (DnType::CountryName, "FR"),
            (DnType::OrganizationName, "Org"),
            (DnType::CommonName, "client"),
        ]);
        assert_eq!(got.as_deref(), Some("CN=client,O=Org,C=FR"));
        // Go's order, whatever the certificate's.
        let got = subject_of(&[
            (DnType::CommonName, "client"),
            (DnType::OrganizationName, "Org"),
        ]);
        assert_eq!(got.as_deref(), Some("CN=client,O=Org"));
    }

    /// A Name's RDNs, one attribute 2.5.4.`last` each, as UTF8Strings.
    fn rdns(attributes: &[(u8, &str)]) -> Vec<u8> {
        let mut name = Vec::new();
        for (last, value) in attributes {
            let mut attribute = encode(OID, &[0x55, 0x04, *last]);
            attribute.extend(encode(0x0c, value.as_bytes()));
            name.extend(encode(SET, &encode(SEQUENCE, &attribute)));
        }
        name
    }

    #[test]
    fn of_several_common_names_the_last_is_shown_as_in_go() {
        let name = rdns(&[(3, "first"), (3, "last")]);
        assert_eq!(go_name(&name).as_deref(), Some("CN=last"));
    }

    #[test]
    fn several_values_of_another_attribute_are_joined_by_a_plus_as_in_go() {
        let name = rdns(&[(10, "a"), (10, "b"), (5, "1"), (5, "2")]);
        assert_eq!(go_name(&name).as_deref(), Some("SERIALNUMBER=2,O=a+O=b"));
    }

    #[test]
    fn special_characters_are_escaped_as_go_escapes_them() {
        let got = subject_of(&[(DnType::CommonName, "#a, b+c ")]);
        assert_eq!(got.as_deref(), Some(r"CN=\#a\, b\+c\ "));
    }

    #[test]
    fn attributes_go_has_no_name_for_are_an_oid_and_the_hex_of_their_value() {
        // A string Go would marshal as a PrintableString (0x13).
        let got = subject_of(&[
            (DnType::CustomDnType(vec![1, 2, 3, 4]), "ab"),
            (DnType::CommonName, "x"),
        ]);
        assert_eq!(got.as_deref(), Some("CN=x,1.2.3.4=#13026162"));
    }

    #[test]
    fn an_unnamed_attribute_that_cannot_be_a_printable_string_is_a_utf8_string() {
        // 2.5.4.99: no name in Go; `&` is not PrintableString's.
        let name = rdns(&[(99, "a&b")]);
        assert_eq!(go_name(&name).as_deref(), Some("2.5.4.99=#0c03612662"));
    }

    #[test]
    fn a_length_of_128_takes_the_long_form() {
        assert_eq!(&encode(0x04, &[0; 128])[..3], &[0x04, 0x81, 0x80]);
        assert_eq!(&encode(0x04, &[0; 127])[..2], &[0x04, 0x7f]);
    }

    #[test]
    fn oids_under_each_of_the_three_roots_are_dotted() {
        // 0.9.2342 (pilot attributes such as UID), 1.2.3.4, 2.5.4.3.
        assert_eq!(dotted(&[0x09, 0x92, 0x26]).as_deref(), Some("0.9.2342"));
        assert_eq!(dotted(&[0x2a, 0x03, 0x04]).as_deref(), Some("1.2.3.4"));
        assert_eq!(dotted(&[0x55, 0x04, 0x03]).as_deref(), Some("2.5.4.3"));
    }

    #[test]
    fn a_bmp_string_is_read_as_utf16_big_endian() {
        assert_eq!(
            string(0x1e, &[0x00, 0x41, 0x00, 0xe9]).as_deref(),
            Some("A\u{e9}")
        );
        // An unpaired surrogate, as Go: the replacement character.
        assert_eq!(string(0x1e, &[0xd8, 0x00]).as_deref(), Some("\u{fffd}"));
    }

    #[test]
    fn a_bmp_string_of_an_odd_length_is_not_a_string() {
        assert_eq!(string(0x1e, &[0x00, 0x41, 0x00]), None);
    }

    #[test]
    fn an_element_of_another_tag_is_not_taken() {
        assert_eq!(expect(&[SET, 0x00], SEQUENCE), None);
        assert_eq!(
            expect(&[SEQUENCE, 0x00, 0x01], SEQUENCE),
            Some((&[][..], &[0x01][..]))
        );
    }

    #[test]
    fn bytes_that_are_not_a_certificate_have_no_subject() {
        assert_eq!(subject(b""), None);
        assert_eq!(subject(&[0x30, 0x82, 0xff]), None);
        assert_eq!(subject(&[0x30, 0x03, 0x02, 0x01, 0x00]), None);
    }

    #[test]
    fn lengths_der_does_not_allow_are_refused() {
        // Indefinite (0x80), then more than four length bytes.
        let mut indefinite = vec![0x04, 0x80];
        indefinite.extend([0; 128]);
        assert_eq!(tlv(&indefinite), None);
        assert_eq!(tlv(&[0x04, 0x85, 0, 0, 0, 0, 1, 7]), None);
        // Two length bytes said, one there.
        assert_eq!(tlv(&[0x04, 0x82, 0x01]), None);
    }

    #[test]
    fn long_lengths_are_read() {
        let long = encode(0x04, &[7; 300]);
        assert_eq!(&long[..4], &[0x04, 0x82, 0x01, 0x2c]);
        let (tag, content, rest) = tlv(&long).unwrap();
        assert_eq!((tag, content.len(), rest.len()), (0x04, 300, 0));
        // Four length bytes, the most; one, the whole element.
        let four = [0x04, 0x84, 0, 0, 0, 1, 7];
        assert_eq!(tlv(&four), Some((0x04, &[7][..], &[][..])));
        assert_eq!(tlv(&[0x04, 0x81, 0x00]), Some((0x04, &[][..], &[][..])));
    }
}
