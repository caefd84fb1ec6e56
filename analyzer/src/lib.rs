//! The netsnap analyzer library.
