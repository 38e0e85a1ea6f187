//! What a report file holds, unpacked: gzip (by its magic number), zip (the first `.xml`
//! member, or the only member), or the XML itself. Every path reads at most
//! [`Limits::max_bytes`] octets of output, so a gzip or zip bomb stops at the bound, in
//! bounded memory, whatever its headers claim.

use std::io::Read;

use crate::{Limits, ReportError};

/// How the report was packed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Packing {
    /// Plain XML.
    Xml,
    /// gzip (RFC 1952).
    Gzip,
    /// A zip archive.
    Zip,
}

impl Packing {
    /// The name in the JSON document and the summary.
    pub fn as_str(self) -> &'static str {
        match self {
            Packing::Xml => "xml",
            Packing::Gzip => "gzip",
            Packing::Zip => "zip",
        }
    }
}

/// True when `bytes` begin as an e-mail message does (a header field name and a colon) and
/// not as XML, JSON, gzip or zip.
pub(crate) fn looks_like_message(bytes: &[u8]) -> bool {
    if bytes.starts_with(&[0x1f, 0x8b])
        || bytes.starts_with(b"PK\x03\x04")
        || bytes.starts_with(b"<")
        || bytes.starts_with(b"{")
    {
        return false;
    }
    let name_end = bytes
        .iter()
        .position(|&b| !(33..=126).contains(&b) || b == b':')
        .unwrap_or(bytes.len());
    name_end > 0 && bytes.get(name_end) == Some(&b':')
}

/// True when a message part's contents may be a report: gzip, zip, XML, or TLS-RPT JSON.
pub(crate) fn may_hold_report(contents: &[u8]) -> bool {
    let text = contents.trim_ascii_start();
    contents.starts_with(&[0x1f, 0x8b])
        || contents.starts_with(b"PK\x03\x04")
        || text.starts_with(b"<?xml")
        || text.starts_with(b"<feedback")
        || (text.starts_with(b"{") && contents.windows(17).any(|w| w == b"organization-name"))
}

/// The unpacked octets and how they were packed.
pub(crate) fn unpack(bytes: &[u8], limits: &Limits) -> Result<(Vec<u8>, Packing), ReportError> {
    if bytes.starts_with(&[0x1f, 0x8b]) {
        let decoder = flate2::read::MultiGzDecoder::new(bytes);
        return Ok((bounded(decoder, limits, "gzip")?, Packing::Gzip));
    }
    if bytes.starts_with(b"PK\x03\x04") {
        return Ok((unzip(bytes, limits)?, Packing::Zip));
    }
    if bytes.len() > limits.max_bytes {
        return Err(too_large(limits, "the report"));
    }
    Ok((bytes.to_vec(), Packing::Xml))
}

pub(crate) fn too_large(limits: &Limits, what: &str) -> ReportError {
    ReportError::TooLarge(format!(
        "{what} is larger than {} MiB (--max-report-mib)",
        limits.max_bytes / (1024 * 1024)
    ))
}

/// Reads `reader` to its end, refusing more than the limit.
fn bounded(reader: impl Read, limits: &Limits, what: &str) -> Result<Vec<u8>, ReportError> {
    let mut out = Vec::new();
    let cap = u64::try_from(limits.max_bytes).unwrap_or(u64::MAX);
    reader
        .take(cap.saturating_add(1))
        .read_to_end(&mut out)
        .map_err(|e| ReportError::Unreadable(format!("{what}: {e}")))?;
    if out.len() > limits.max_bytes {
        return Err(too_large(limits, &format!("the {what} content")));
    }
    Ok(out)
}

/// The report member of a zip archive: the first one named `*.xml`, else the first file.
fn unzip(bytes: &[u8], limits: &Limits) -> Result<Vec<u8>, ReportError> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes))
        .map_err(|e| ReportError::Unreadable(format!("zip: {e}")))?;
    let names: Vec<String> = archive
        .file_names()
        .map(|name| name.map(|n| n.into_owned()).unwrap_or_default())
        .collect();
    let pick = names
        .iter()
        .position(|n| n.to_ascii_lowercase().ends_with(".xml"))
        .or_else(|| (!names.is_empty()).then_some(0))
        .ok_or_else(|| ReportError::Unreadable("zip: an empty archive".into()))?;
    let member = archive
        .by_index(pick)
        .map_err(|e| ReportError::Unreadable(format!("zip: {e}")))?;
    bounded(member, limits, "zip member")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn a_gzip_bomb_stops_at_the_bound() {
        // 64 MiB of zeros packs into about 64 KiB.
        let mut packed = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        let zeros = vec![0u8; 1024 * 1024];
        for _ in 0..64 {
            packed.write_all(&zeros).unwrap();
        }
        let packed = packed.finish().unwrap();
        assert!(packed.len() < 256 * 1024, "{}", packed.len());
        let limits = Limits {
            max_bytes: 8 * 1024 * 1024,
            ..Limits::default()
        };
        let started = std::time::Instant::now();
        assert!(matches!(
            unpack(&packed, &limits),
            Err(ReportError::TooLarge(_))
        ));
        // Refused having read one byte past the bound, not the whole bomb.
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
    }

    #[test]
    fn a_zip_bomb_stops_at_the_bound_and_the_xml_member_is_chosen() {
        let mut archive = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        archive.start_file("readme.txt", options).unwrap();
        archive.write_all(b"not the report").unwrap();
        archive.start_file("report.xml", options).unwrap();
        let zeros = vec![b' '; 1024 * 1024];
        for _ in 0..16 {
            archive.write_all(&zeros).unwrap();
        }
        let bytes = archive.finish().unwrap().into_inner();
        let limits = Limits {
            max_bytes: 4 * 1024 * 1024,
            ..Limits::default()
        };
        assert!(matches!(
            unpack(&bytes, &limits),
            Err(ReportError::TooLarge(_))
        ));
        let roomy = Limits {
            max_bytes: 32 * 1024 * 1024,
            ..Limits::default()
        };
        let (xml, packing) = unpack(&bytes, &roomy).unwrap();
        assert_eq!(packing, Packing::Zip);
        assert_eq!(
            xml.len(),
            16 * 1024 * 1024,
            "the .xml member, not the first"
        );
    }
}
