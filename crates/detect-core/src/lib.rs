//! detect-core (skeleton; see the crate's owner brief)
