//! Any bytes as a pasted file: decoding never panics, every line number it reports lies in the
//! file, and the file as a whole loads as pasted input (or is refused with an error).
#![no_main]

use std::collections::BTreeMap;

use libfuzzer_sys::fuzz_target;
use netsnap::decode::text::decode_text;
use netsnap::load::pasted;

fuzz_target!(|data: &[u8]| {
    // Lines end at LF, CRLF or a lone CR, as the decoder (and most editors) count them.
    let crs = data
        .windows(2)
        .filter(|w| w[0] == b'\r' && w[1] != b'\n')
        .count()
        + usize::from(data.last() == Some(&b'\r'));
    let lines = data.split(|b| *b == b'\n').count() + crs;
    let decoded = decode_text(data);
    for p in &decoded.pieces {
        assert!(p.piece.first_line >= 1);
        assert!(p.piece.last_line <= lines, "{} > {lines}", p.piece.last_line);
    }
    let loose: BTreeMap<String, Vec<u8>> = [("pasted.txt".to_string(), data.to_vec())].into();
    if let Ok((manifest, files, _)) = pasted::build(loose) {
        for a in &manifest.artifacts {
            if a.status == netsnap_bundle::Status::Ok {
                assert!(files.contains_key(&a.path), "{} listed, not stored", a.path);
            }
        }
    }
});
