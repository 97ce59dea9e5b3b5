//! train (skeleton; see the crate's owner brief)
