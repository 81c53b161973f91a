//! `streamkit topics`: the cluster against the catalog.

pub mod apply;
pub mod check;
