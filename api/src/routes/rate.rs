//! The delivery rate a body asks for, shared by endpoints and applications: `throttleRate`, or `rateLimit`, the
//! older name the SDKs still send. `throttleRate` wins when both are sent; 0 is refused naming the field.

use crate::error::{ApiError, ApiResult};

/// The rate of a full body (POST, PUT): `None` when it sets no limit.
pub(crate) fn chosen(throttle_rate: Option<u16>, rate_limit: Option<u16>) -> ApiResult<Option<u16>> {
    for (field, rate) in [("throttleRate", throttle_rate), ("rateLimit", rate_limit)] {
        if rate == Some(0) {
            return Err(ApiError::invalid(
                &["body", field],
                "must be at least 1 message per second",
            ));
        }
    }
    Ok(throttle_rate.or(rate_limit))
}

/// The rate of a patch: `None` when it sends neither field (keep the rate), else the new rate, where
/// `Some(None)` (a null) removes the limit.
pub(crate) fn patched(
    throttle_rate: Option<Option<u16>>,
    rate_limit: Option<Option<u16>>,
) -> ApiResult<Option<Option<u16>>> {
    if throttle_rate.is_none() && rate_limit.is_none() {
        return Ok(None);
    }
    chosen(throttle_rate.flatten(), rate_limit.flatten()).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttle_rate_wins_and_zero_is_refused_by_name() {
        assert_eq!(chosen(None, None).ok(), Some(None));
        assert_eq!(chosen(Some(5), Some(9)).ok(), Some(Some(5)));
        assert_eq!(chosen(None, Some(9)).ok(), Some(Some(9)));
        for (throttle_rate, rate_limit, field) in
            [(Some(0), None, "throttleRate"), (Some(3), Some(0), "rateLimit")]
        {
            let Err(ApiError::Validation(errors)) = chosen(throttle_rate, rate_limit) else {
                panic!("0 is refused");
            };
            assert_eq!(errors[0].loc, ["body", field]);
        }
    }

    #[test]
    fn a_patch_keeps_the_rate_unless_it_names_one() {
        assert_eq!(patched(None, None).ok(), Some(None));
        assert_eq!(
            patched(Some(None), None).ok(),
            Some(Some(None)),
            "null removes it"
        );
        assert_eq!(patched(Some(None), Some(Some(4))).ok(), Some(Some(Some(4))));
        assert_eq!(patched(Some(Some(7)), Some(None)).ok(), Some(Some(Some(7))));
    }
}
