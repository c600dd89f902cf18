//! Strict [postcard] encoding and decoding (feature `postcard`, off by default).
//!
//! postcard is the compact binary format this crate is tested with. Its own `from_bytes` has two
//! gaps for snapshot files, which [`from_bytes`] closes:
//!
//! * it ignores bytes after the value, so a file with trailing garbage (or two snapshots glued
//!   together) decodes silently; here that is [`Error::TrailingBytes`];
//! * its error type drops the message of custom serde errors, so a repeated key would surface as
//!   a bare "Serde Deserialization Error"; here the message of this crate's errors (such as
//!   "duplicate key: ...") is kept, as [`Error::Message`].
//!
//! postcard is not self-describing: a value of the wrong type is caught only when its bytes are
//! invalid for the expected type (a bad bool, UTF-8 or varint, a length past the end). Bytes that
//! happen to decode as the expected type cannot be told apart; JSON catches every type mismatch.
//!
//! # Examples
//!
//! ```
//! use syncmap_epoch::SyncMap;
//! use syncmap_serde::{Snapshot, postcard};
//!
//! let live: SyncMap<String, u32> = [("a".to_string(), 1)].into_iter().collect();
//! let bytes = postcard::to_vec(&Snapshot::of(&live)).unwrap();
//! assert_eq!(bytes, [1, 1, b'a', 1]); // 1 entry, key of length 1, "a", value 1
//!
//! let back: Snapshot<String, u32> = postcard::from_bytes(&bytes).unwrap();
//! assert_eq!(back.entries(), &[("a".to_string(), 1)]);
//!
//! let mut longer = bytes.clone();
//! longer.push(0);
//! let err = postcard::from_bytes::<Snapshot<String, u32>>(&longer).unwrap_err();
//! assert_eq!(err.to_string(), "trailing data: 1 byte(s) after the end of the value");
//! ```
//!
//! [postcard]: https://docs.rs/postcard

use core::{cell::RefCell, fmt};

use serde::{Deserialize, Serialize};

/// An error from [`to_vec`] or [`from_bytes`].
///
/// # Examples
///
/// ```
/// use syncmap_serde::{Snapshot, postcard::{self, Error}};
///
/// // An entry count of 2, then one entry: the input stops short.
/// let err = postcard::from_bytes::<Snapshot<u8, u8>>(&[2, 1, 1]).unwrap_err();
/// assert!(matches!(err, Error::Postcard(_)));
/// assert!(err.to_string().contains("end of buffer"), "{err}");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// An error postcard reports itself: the input ends early, holds an invalid value for the
    /// expected type, or the value could not be written.
    Postcard(::postcard::Error),
    /// A custom serde error with its message, such as `duplicate key: ...`.
    Message(String),
    /// The value decoded, but `count` bytes followed it.
    TrailingBytes {
        /// How many bytes followed the value.
        count: usize,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Postcard(error) => write!(f, "{error}"),
            Error::Message(message) => f.write_str(message),
            Error::TrailingBytes { count } => {
                write!(
                    f,
                    "trailing data: {count} byte(s) after the end of the value"
                )
            }
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Postcard(error) => Some(error),
            Error::Message(_) | Error::TrailingBytes { .. } => None,
        }
    }
}

/// Encodes `value` (a [`Snapshot`](crate::Snapshot), or a struct with a
/// [`map`](crate::map) field) with postcard.
///
/// # Examples
///
/// ```
/// use syncmap_epoch::SyncMap;
/// use syncmap_serde::{Snapshot, postcard};
///
/// let live: SyncMap<u8, u8> = [(1, 2), (3, 4)].into_iter().collect();
/// assert_eq!(postcard::to_vec(&Snapshot::of(&live)).unwrap().len(), 5);
/// ```
pub fn to_vec<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, Error> {
    ::postcard::to_allocvec(value).map_err(Error::Postcard)
}

/// Decodes a `T` that must fill `bytes` exactly.
///
/// # Errors
///
/// [`Error::TrailingBytes`] if bytes follow the value, [`Error::Message`] for this crate's errors
/// (a repeated key), [`Error::Postcard`] for the rest (truncated or invalid input).
///
/// # Examples
///
/// ```
/// use syncmap_serde::{Snapshot, postcard};
///
/// // Two entries with the same key 1.
/// let err = postcard::from_bytes::<Snapshot<u8, u8>>(&[2, 1, 10, 1, 20]).unwrap_err();
/// assert!(err.to_string().starts_with("duplicate key"), "{err}");
/// ```
pub fn from_bytes<'de, T: Deserialize<'de>>(bytes: &'de [u8]) -> Result<T, Error> {
    // A message left by an earlier error that someone caught must not be reported for this one.
    drop(take_message());
    let result = ::postcard::take_from_bytes(bytes);
    let message = take_message();
    match result {
        Ok((value, [])) => Ok(value),
        Ok((value, rest)) => {
            drop(value);
            Err(Error::TrailingBytes { count: rest.len() })
        }
        Err(::postcard::Error::SerdeDeCustom) => Err(match message {
            Some(message) => Error::Message(message),
            None => Error::Postcard(::postcard::Error::SerdeDeCustom),
        }),
        Err(error) => Err(Error::Postcard(error)),
    }
}

thread_local! {
    /// The message of the last custom error this crate raised on this thread.
    static LAST_MESSAGE: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Records the message of a custom error this crate is about to raise.
pub(crate) fn remember(message: String) {
    LAST_MESSAGE.with(|last| *last.borrow_mut() = Some(message));
}

fn take_message() -> Option<String> {
    LAST_MESSAGE.with(|last| last.borrow_mut().take())
}
