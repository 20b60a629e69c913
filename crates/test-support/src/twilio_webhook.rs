//! Posting webhooks as Twilio does: the fields form-encoded, `X-Twilio-Signature` computed
//! with the auth token over the URL it calls and the fields.

use phone_twilio::signature::compute_signature;

/// `pairs` as owned form fields (what `compute_signature` and `reqwest` take).
pub fn form(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// A POST of `form` to `url`, signed with `auth_token`, ready to send.
pub fn signed_post(
    http: &reqwest::Client,
    auth_token: &str,
    url: &str,
    form: &[(String, String)],
) -> reqwest::RequestBuilder {
    http.post(url)
        .header(
            "X-Twilio-Signature",
            compute_signature(auth_token, url, form),
        )
        .form(form)
}
