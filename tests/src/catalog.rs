//! This workspace's catalog (docker/images.tsv) as the tests read it:
//! benchkit's reader, panicking with the reason when it cannot.

pub use benchkit::catalog::*;

use crate::root;

/// Every image of this workspace's catalog, in its order.
pub fn images() -> Vec<CatalogImage> {
    read(&root()).unwrap_or_else(|e| panic!("{e}"))
}

/// The catalog image tagged `tag`.
#[track_caller]
pub fn image(tag: &str) -> CatalogImage {
    images()
        .into_iter()
        .find(|image| image.tag == tag)
        .unwrap_or_else(|| panic!("{tag} is not in {CATALOG}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_committed_catalog_is_consistent() {
        let root = root();
        for image in images() {
            assert!(
                root.join("docker").join(&image.dockerfile).is_file(),
                "{}: no docker/{}",
                image.tag,
                image.dockerfile
            );
            assert!(
                root.join(&image.source).is_file(),
                "{}: no {}",
                image.tag,
                image.source
            );
        }
    }
}
