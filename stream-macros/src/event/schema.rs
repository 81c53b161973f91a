//! The derive's registration of the event type and its data schema (the runtime's
//! `EVENT_SCHEMAS`), for the AsyncAPI document and the generated schemas.

use proc_macro2::TokenStream;
use quote::quote;
use syn::Ident;

/// One `EventSchemaEntry` for `ident`; its schema is `Some` when the type also implements
/// `schemars::JsonSchema` (found by method resolution on the runtime's `Probe`, so the derive
/// needs no flag).
/// `event_type` is the literal the impl gets (not `<T as Event>::EVENT_TYPE`: a type whose
/// `Event` impl does not hold would get its errors twice).
pub(super) fn registration(ident: &Ident, event_type: &str, krate: &TokenStream) -> TokenStream {
    let type_name = ident.to_string();
    quote! {
        const _: () = {
            fn __streamkit_data_schema() -> ::core::option::Option<#krate::__private::serde_json::Value> {
                #[allow(unused_imports)]
                use #krate::__private::{ViaJsonSchema as _, ViaNothing as _};
                (&&#krate::__private::Probe::<#ident>::new()).data_schema()
            }
            #[#krate::__private::linkme::distributed_slice(#krate::__private::EVENT_SCHEMAS)]
            #[linkme(crate = #krate::__private::linkme)]
            static __STREAMKIT_EVENT_SCHEMA: #krate::__private::EventSchemaEntry =
                #krate::__private::EventSchemaEntry {
                    event_type: #event_type,
                    type_name: #type_name,
                    schema: __streamkit_data_schema,
                };
        };
    }
}
