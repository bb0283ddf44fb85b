//! k0s version strings (`v1.32.6+k0s.0`), validated and ordered, so a downgrade or a worker
//! newer than its control plane is refused at plan time.

use std::cmp::Ordering;
use std::fmt;

/// A k0s release: Kubernetes version plus the k0s build number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct K0sVersion {
    pub major: u32,
    pub minor: u32,
    pub patch: u32,
    pub build: u32,
}

impl K0sVersion {
    /// Accepts `v1.32.6+k0s.0` and `v1.32.6-k0s.0` (k0smotron rewrites `+` to `-` for image
    /// tags); the leading `v` is required, as in every k0s release name.
    pub fn parse(s: &str) -> Option<Self> {
        let rest = s.strip_prefix('v')?;
        let (kube, build) = rest
            .split_once("+k0s.")
            .or_else(|| rest.split_once("-k0s."))?;
        let mut parts = kube.split('.');
        let num = |p: Option<&str>| -> Option<u32> {
            let p = p?;
            if p.is_empty()
                || !p.chars().all(|c| c.is_ascii_digit())
                || (p.len() > 1 && p.starts_with('0'))
            {
                return None;
            }
            p.parse().ok()
        };
        let v = Self {
            major: num(parts.next())?,
            minor: num(parts.next())?,
            patch: num(parts.next())?,
            build: num(Some(build))?,
        };
        parts.next().is_none().then_some(v)
    }

    /// The canonical form with `+` (what `k0s version` prints and get.k0s.sh expects).
    pub fn canonical(&self) -> String {
        format!(
            "v{}.{}.{}+k0s.{}",
            self.major, self.minor, self.patch, self.build
        )
    }

    /// Kubernetes minor-version distance (`other` minus `self`).
    pub fn minor_skew(&self, other: &Self) -> i64 {
        (other.major as i64 - self.major as i64) * 1000 + (other.minor as i64 - self.minor as i64)
    }
}

impl Ord for K0sVersion {
    fn cmp(&self, o: &Self) -> Ordering {
        (self.major, self.minor, self.patch, self.build).cmp(&(o.major, o.minor, o.patch, o.build))
    }
}

impl PartialOrd for K0sVersion {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}

impl fmt::Display for K0sVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.canonical())
    }
}

/// The message for an invalid version string.
pub fn invalid_message(s: &str) -> String {
    format!("{s:?} is not a k0s version; k0s versions look like v1.32.6+k0s.0 (see https://github.com/k0sproject/k0s/releases)")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_both_separators() {
        let a = K0sVersion::parse("v1.32.6+k0s.0").unwrap();
        let b = K0sVersion::parse("v1.32.6-k0s.0").unwrap();
        assert_eq!(a, b);
        assert_eq!(a.canonical(), "v1.32.6+k0s.0");
    }

    #[test]
    fn rejects_non_k0s_versions() {
        for bad in [
            "1.32.6+k0s.0",
            "v1.32+k0s.0",
            "v1.32.6",
            "v1.32.6+k3s.1",
            "v1.32.06+k0s.0",
            "latest",
            "",
            "v1.32.6+k0s.",
            "v1.2.3.4+k0s.0",
        ] {
            assert_eq!(K0sVersion::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn orders_by_kubernetes_then_build() {
        let v = |s| K0sVersion::parse(s).unwrap();
        assert!(v("v1.31.9+k0s.0") < v("v1.32.1+k0s.0"));
        assert!(v("v1.32.1+k0s.0") < v("v1.32.1+k0s.1"));
        assert!(v("v1.32.10+k0s.0") > v("v1.32.9+k0s.0"));
        assert_eq!(v("v1.30.1+k0s.0").minor_skew(&v("v1.32.0+k0s.0")), 2);
    }
}
