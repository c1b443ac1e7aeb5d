//! Conflict helpers: the name a kept-both copy gets, and the folder where losing
//! copies are kept (`.offline/conflicts/<UTC time>/<path>`).

use offline_core::RelPath;

/// `NAME (conflict HOST N).EXT` for `path`'s leaf; `.EXT` is the part after the last
/// dot, unless the dot starts the name.
pub fn conflict_name(path: &RelPath, host: &str, n: u32) -> Option<RelPath> {
    let leaf = path.file_name();
    let dot = leaf.iter().rposition(|&b| b == b'.').filter(|&i| i > 0);
    let (stem, ext) = match dot {
        Some(i) => (&leaf[..i], &leaf[i..]),
        None => (leaf, &b""[..]),
    };
    let tag = format!(" (conflict {host} {n})");
    // Names are at most NAME_MAX (255) bytes: shorten the stem (never the tag or the
    // extension), cutting on a UTF-8 boundary where the stem is UTF-8.
    let room = NAME_MAX.saturating_sub(tag.len() + ext.len());
    let mut name = shorten(stem, room).to_vec();
    if name.is_empty() && !stem.is_empty() {
        return None;
    }
    name.extend_from_slice(tag.as_bytes());
    name.extend_from_slice(ext);
    path.with_file_name(&name).ok()
}

/// The longest name most file systems take, in bytes.
const NAME_MAX: usize = 255;

fn shorten(stem: &[u8], room: usize) -> &[u8] {
    if stem.len() <= room {
        return stem;
    }
    let mut end = room;
    if std::str::from_utf8(stem).is_ok() {
        while end > 0 && (stem[end] & 0b1100_0000) == 0b1000_0000 {
            end -= 1;
        }
    }
    &stem[..end]
}

/// This machine's name, for conflict names; "host" when it cannot be read.
pub fn host_name() -> String {
    let name = gethostname::gethostname().to_string_lossy().into_owned();
    let clean: String = name
        .chars()
        .filter(|c| !c.is_control() && *c != '/')
        .collect();
    if clean.is_empty() {
        "host".to_string()
    } else {
        clean
    }
}

/// `YYYYMMDDTHHMMSSZ` for a time in ns since the epoch (UTC).
pub fn utc_stamp(ns: i64) -> String {
    let secs = ns.div_euclid(1_000_000_000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}{m:02}{d:02}T{:02}{:02}{:02}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

/// Howard Hinnant's days-to-civil algorithm.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> RelPath {
        RelPath::from_str_lossy(s).expect("valid")
    }

    #[test]
    fn names_keep_the_extension() {
        assert_eq!(
            conflict_name(&p("docs/report.txt"), "pc", 1),
            Some(p("docs/report (conflict pc 1).txt"))
        );
        assert_eq!(
            conflict_name(&p(".bashrc"), "pc", 2),
            Some(p(".bashrc (conflict pc 2)"))
        );
        assert_eq!(
            conflict_name(&p("a"), "pc", 3),
            Some(p("a (conflict pc 3)"))
        );
    }

    #[test]
    fn long_names_are_shortened_to_fit() {
        let long = format!("{}.txt", "é".repeat(130));
        let name = conflict_name(&p(&long), "pc", 1).expect("a name");
        assert!(name.file_name().len() <= 255, "{}", name.file_name().len());
        assert!(
            std::str::from_utf8(name.file_name()).is_ok(),
            "cut inside a character"
        );
        assert!(name.file_name().ends_with(b" (conflict pc 1).txt"));
    }

    #[test]
    fn stamps_are_utc() {
        assert_eq!(utc_stamp(0), "19700101T000000Z");
        assert_eq!(utc_stamp(1_704_067_200_000_000_000), "20240101T000000Z");
        assert_eq!(utc_stamp(1_795_000_000_123_000_000), "20261118T110640Z");
    }
}
