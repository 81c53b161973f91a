//! The typed half of `topics!()`: per topic name a `Topic` type carrying its event type, and
//! per topic on a broker a `TypedTopic` constant, so publishing another payload does not build.

use proc_macro2::{Ident, TokenStream};
use quote::quote;

/// The items of a topic's module: its `Topic` type and `on(broker)`, which names the topic on
/// a declared broker (`brokers`, with the full names `declared`) without allocating.
pub(super) fn topic_items(
    name: &str,
    event: &str,
    brokers: &[String],
    declared: &[String],
) -> TokenStream {
    quote! {
        /// This topic as a type: its name and event type, for typed publish targets.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub struct Topic;

        impl ::streamkit::__private::TopicDef for Topic {
            const NAME: &'static str = #name;
            const EVENT: &'static str = #event;
        }

        /// The topic on `broker` (a `Broker` or its name), e.g.
        /// `ctx.publish(&on(ctx.broker()), &event)`: a publish target that only builds with a
        /// payload of event type `EVENT`.
        pub fn on(
            broker: &impl ::core::fmt::Display,
        ) -> ::streamkit::__private::TypedTopic<Topic> {
            ::streamkit::__private::TypedTopic::on_declared(
                broker,
                &[#((#brokers, #declared)),*],
            )
        }
    }
}

/// `pub const PAPER_SIGNALS_VALIDATED: TypedTopic<signals_validated::Topic>`: the topic on a
/// declared broker.
pub(super) fn full_constant(full: &str, constant: &Ident, module: &Ident) -> TokenStream {
    let doc = format!("`{full}`, a typed publish target (`&topics::{constant}`).");
    quote! {
        #[doc = #doc]
        pub const #constant: ::streamkit::__private::TypedTopic<#module::Topic> =
            ::streamkit::__private::TypedTopic::from_static(#full);
    }
}
