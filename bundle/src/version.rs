//! Format versioning: `MAJOR.MINOR`. A reader accepts every bundle whose major version it
//! knows (older minors and newer minors alike: minors only add artifacts or fields) and refuses
//! a newer major version with a message that says what to do.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The value of `manifest.json`'s `format` field.
pub const FORMAT_NAME: &str = "netsnap-bundle";

/// The version this code writes and fully understands.
pub const FORMAT_VERSION: FormatVersion = FormatVersion { major: 1, minor: 1 };

/// A bundle format version, written as `"1.0"` in the manifest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FormatVersion {
    pub major: u32,
    pub minor: u32,
}

/// Why a manifest's version cannot be read by this build.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VersionError {
    #[error("bundle format version {found:?} is not of the form MAJOR.MINOR")]
    Malformed { found: String },
    #[error(
        "bundle format {found} is newer than this netsnap understands (up to {supported_major}.x); \
         upgrade netsnap to read it"
    )]
    TooNew {
        found: FormatVersion,
        supported_major: u32,
    },
    #[error("bundle format {found} predates the first released format (1.0)")]
    TooOld { found: FormatVersion },
}

impl FormatVersion {
    /// Whether a bundle written in `self` can be read by this build.
    pub fn check_readable(self) -> Result<(), VersionError> {
        if self.major > FORMAT_VERSION.major {
            return Err(VersionError::TooNew {
                found: self,
                supported_major: FORMAT_VERSION.major,
            });
        }
        if self.major == 0 {
            return Err(VersionError::TooOld { found: self });
        }
        Ok(())
    }
}

impl fmt::Display for FormatVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

impl FromStr for FormatVersion {
    type Err = VersionError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let malformed = || VersionError::Malformed {
            found: s.chars().take(32).collect(),
        };
        let (major, minor) = s.split_once('.').ok_or_else(malformed)?;
        let major = major.parse().map_err(|_| malformed())?;
        let minor = minor.parse().map_err(|_| malformed())?;
        Ok(FormatVersion { major, minor })
    }
}

impl Serialize for FormatVersion {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for FormatVersion {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newer_major_is_refused_with_advice() {
        let v: FormatVersion = "2.0".parse().expect("valid");
        let err = v.check_readable().expect_err("2.0 must be refused");
        assert!(err.to_string().contains("upgrade netsnap"), "{err}");
    }

    #[test]
    fn same_major_any_minor_is_read() {
        for s in ["1.0", "1.7"] {
            let v: FormatVersion = s.parse().expect("valid");
            assert_eq!(v.check_readable(), Ok(()));
        }
    }

    #[test]
    fn malformed_versions_are_errors() {
        for s in ["", "1", "a.b", "1.0.0", "-1.0"] {
            assert!(s.parse::<FormatVersion>().is_err(), "{s:?} accepted");
        }
        let v: FormatVersion = "0.9".parse().expect("valid");
        assert!(v.check_readable().is_err());
    }

    #[test]
    fn round_trips_as_a_json_string() {
        let json = serde_json::to_string(&FORMAT_VERSION).expect("serialize");
        assert_eq!(
            json,
            format!("\"{}.{}\"", FORMAT_VERSION.major, FORMAT_VERSION.minor)
        );
        let back: FormatVersion = serde_json::from_str(&json).expect("deserialize");
        assert_eq!(back, FORMAT_VERSION);
    }
}
