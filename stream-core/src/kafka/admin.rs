//! Topic administration: the one place that creates and checks topics.
