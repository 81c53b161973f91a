//! `streamkit topics`: the cluster against the catalog.

mod action;
pub mod apply;
pub mod check;
mod cluster;
mod drift;
mod plan;
mod wanted;
