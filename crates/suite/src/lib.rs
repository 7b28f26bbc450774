//! Suites: experiments run one after another as a resumable state
//! machine, each one's run directory and a suite report (JSON, HTML,
//! JUnit XML) stored in a directory or S3-compatible storage.
//!
//! # Layout
//! - [`spec`]: the suite file, validated with located errors.
//! - [`state`]: where a run stands (`state.json`, written after every transition).
//! - [`source`]: reading an experiment from a path, a URL or S3; `vars`.
//! - [`store`]: a directory or `s3://bucket/prefix`, objects written whole.
//! - [`runner`]: start and resume.
//! - [`report`], [`junit`]: the suite report and the JUnit XML.
//! - [`catalog`]: reading runs back (list, show, compare).
//!
//! In a store: `<suite>/<run id>/state.json`, `items/NN-name/attempt-K/…`
//! (the run directory), `suite-report.json`, `suite-report.html`,
//! `junit.xml`, and last `manifest.json`: a run is complete once its
//! manifest exists.

// Libraries do not print: the binary decides what people see.
#![cfg_attr(not(test), deny(clippy::print_stdout, clippy::print_stderr))]

pub mod catalog;
pub mod junit;
pub mod report;
pub mod runner;
pub mod source;
pub mod spec;
pub mod state;
pub mod store;
