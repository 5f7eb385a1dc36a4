//! A sparse-resources conformance suite modelled on `dEQP-VK.sparse_resources`.
//! It is an application: it reaches the driver only through the system
//! Vulkan loader (ash), so it runs on any ICD; cases whose feature the
//! driver lacks end as NotSupported, naming the feature.

pub mod case;
pub mod gpu;
pub mod groups;
pub mod report;
pub mod run;

pub use case::{Case, CaseResult, Outcome, Stop};
pub use gpu::{Gpu, Vk};

/// Case-name filter: `*` matches any run of characters; a pattern without
/// `*` matches as a substring.
pub fn matches(pattern: &str, name: &str) -> bool {
    if !pattern.contains('*') {
        return name.contains(pattern);
    }
    let parts: Vec<&str> = pattern.split('*').collect();
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !name.starts_with(first) || name.len() < first.len() + last.len() || !name.ends_with(last) {
        return false;
    }
    let mut rest = &name[first.len()..name.len() - last.len()];
    for mid in &parts[1..parts.len() - 1] {
        match rest.find(mid) {
            Some(i) => rest = &rest[i + mid.len()..],
            None => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn filters() {
        assert!(matches("buffer", "sparse_resources.buffer.x"));
        assert!(!matches("image", "sparse_resources.buffer.x"));
        assert!(matches("sparse_resources.*.x", "sparse_resources.buffer.x"));
        assert!(matches("*.x", "a.x"));
        assert!(!matches("*.x", "a.y"));
        assert!(matches("a*b*c", "a--b--c"));
        assert!(!matches("a*b*c", "a--c--b"));
        assert!(!matches("ab*ba", "aba"));
    }
}
