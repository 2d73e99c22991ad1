//! The record ports on Redis (to be written).
