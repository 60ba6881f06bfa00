//! The one error collector of every phase: each mistake is pushed and the user sees all of
//! them at once, and every "written twice" mistake is worded by one helper.

use proc_macro2::Span;
use quote::ToTokens;

/// Where an error points: a span, or a syntax node (from its first to its last token).
pub(crate) trait ErrorAt {
    fn error(self, message: String) -> syn::Error;
}

impl ErrorAt for Span {
    fn error(self, message: String) -> syn::Error {
        syn::Error::new(self, message)
    }
}

impl<T: ToTokens> ErrorAt for &T {
    fn error(self, message: String) -> syn::Error {
        syn::Error::new_spanned(self, message)
    }
}

/// Collects errors so the user sees every mistake of one attribute at once.
#[derive(Default)]
pub(crate) struct Errors {
    combined: Option<syn::Error>,
}

impl From<syn::Error> for Errors {
    fn from(error: syn::Error) -> Self {
        Errors {
            combined: Some(error),
        }
    }
}

impl Errors {
    pub(crate) fn push(&mut self, error: syn::Error) {
        match &mut self.combined {
            Some(combined) => combined.combine(error),
            None => self.combined = Some(error),
        }
    }

    pub(crate) fn push_result<T>(&mut self, result: syn::Result<T>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(error) => {
                self.push(error);
                None
            }
        }
    }

    pub(crate) fn append(&mut self, other: Errors) {
        if let Some(error) = other.combined {
            self.push(error);
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.combined.is_none()
    }

    pub(crate) fn finish(self) -> syn::Result<()> {
        match self.combined {
            Some(error) => Err(error),
            None => Ok(()),
        }
    }

    /// A key, flag or source given a second time: `duplicate {what}: {hint}`, at the
    /// second occurrence.
    pub(crate) fn duplicate(&mut self, second: impl ErrorAt, what: &str, hint: &str) {
        self.push(second.error(format!("duplicate {what}: {hint}")));
    }
}
