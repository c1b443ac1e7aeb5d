//! Who may use the Sync Center, checked before any route: the Host must be the
//! address the page is bound to or `localhost` on its port (DNS rebinding); the login
//! token must come with the request, once in the URL (`?token=`, answered with an
//! HttpOnly SameSite=Strict cookie and a redirect to the same page without it) and
//! then in that cookie; a request that changes state must be a POST whose Origin is
//! the page's own (CSRF). No CORS header is ever sent. Every answer carries headers
//! that keep the page out of frames, caches and referrers, and a content policy that
//! runs only the page's own script.

use super::server::Shared;
use super::token::token_matches;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The middleware.
pub async fn guard(State(app): State<Shared>, request: Request, next: Next) -> Response {
    let mut response = match check(&app, &request) {
        Verdict::Pass => next.run(request).await,
        Verdict::Answer(response) => response,
    };
    secure(response.headers_mut());
    response
}

enum Verdict {
    Pass,
    Answer(Response),
}

fn check(app: &Shared, request: &Request) -> Verdict {
    let headers = request.headers();
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    let Some(host) = host.filter(|h| app.hosts.iter().any(|a| a.eq_ignore_ascii_case(h))) else {
        return Verdict::Answer(refuse(
            StatusCode::FORBIDDEN,
            "Refused: this request was not addressed to the Sync Center's own address \
             (open the address `offline ui` prints).",
        ));
    };
    let method = request.method();
    if method != Method::GET && method != Method::HEAD && method != Method::POST {
        return Verdict::Answer(refuse(
            StatusCode::METHOD_NOT_ALLOWED,
            "Only GET and POST are served.",
        ));
    }
    let query = request.uri().query().unwrap_or("");
    if let Some(given) = query_token(query) {
        if !token_matches(&app.token, &given) {
            return Verdict::Answer(unauthorized());
        }
        if method == Method::POST {
            // A login link is for opening the page, never for acting.
            return Verdict::Answer(refuse(
                StatusCode::FORBIDDEN,
                "Refused: the token belongs in the address of a page, not of an action.",
            ));
        }
        return Verdict::Answer(login(app, request.uri().path(), query));
    }
    let cookie = cookie_token(headers, &app.cookie);
    if !cookie.is_some_and(|c| token_matches(&app.token, &c)) {
        return Verdict::Answer(unauthorized());
    }
    if method == Method::POST {
        let origin = headers.get(header::ORIGIN).and_then(|o| o.to_str().ok());
        let expected = format!("http://{host}");
        if !origin.is_some_and(|o| o.eq_ignore_ascii_case(&expected)) {
            return Verdict::Answer(refuse(
                StatusCode::FORBIDDEN,
                "Refused: an action must come from the Sync Center page itself \
                 (its Origin did not match).",
            ));
        }
    }
    Verdict::Pass
}

/// The `token` parameter of a query string.
fn query_token(query: &str) -> Option<String> {
    form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == "token")
        .map(|(_, v)| v.into_owned())
}

/// The value of cookie `name`.
fn cookie_token(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim().to_string())
}

/// Sets the login cookie and sends the browser to the same page without the token
/// in its address (so it stays out of the history).
fn login(app: &Shared, path: &str, query: &str) -> Response {
    let rest: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
        .filter(|(k, _)| k != "token")
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let mut location = path.to_string();
    if !rest.is_empty() {
        location.push('?');
        location.push_str(
            &form_urlencoded::Serializer::new(String::new())
                .extend_pairs(rest)
                .finish(),
        );
    }
    let cookie = format!(
        "{}={}; HttpOnly; SameSite=Strict; Path=/",
        app.cookie, app.token
    );
    let mut response = StatusCode::SEE_OTHER.into_response();
    let headers = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&location) {
        headers.insert(header::LOCATION, v);
    }
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        headers.insert(header::SET_COOKIE, v);
    }
    response
}

fn unauthorized() -> Response {
    refuse(
        StatusCode::UNAUTHORIZED,
        "This page needs its login token. Run `offline ui` in a terminal and open the \
         address it prints (or run `offline ui --open`).",
    )
}

fn refuse(status: StatusCode, text: &'static str) -> Response {
    let body = format!(
        "<!DOCTYPE html><html lang=\"en\"><meta charset=\"utf-8\"><title>Sync Center</title>\
         <h1>Sync Center</h1><p>{text}</p></html>"
    );
    (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        body,
    )
        .into_response()
}

/// Headers on every answer.
fn secure(headers: &mut HeaderMap) {
    let set = |headers: &mut HeaderMap, name: header::HeaderName, value: &'static str| {
        headers.insert(name, HeaderValue::from_static(value));
    };
    set(headers, header::CONTENT_SECURITY_POLICY, CSP);
    set(headers, header::X_FRAME_OPTIONS, "DENY");
    set(headers, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    // `same-origin`, not `no-referrer`: with that, browsers send `Origin: null` on
    // the page's own POSTs.
    set(headers, header::REFERRER_POLICY, "same-origin");
    set(headers, header::CACHE_CONTROL, "no-store");
    headers.remove(header::ACCESS_CONTROL_ALLOW_ORIGIN);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_found_in_queries_and_cookies() {
        assert_eq!(query_token("a=1&token=abc"), Some("abc".into()));
        assert_eq!(query_token("tokenx=1"), None);
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("other=1; offline_ui_7531=tok; x=y"),
        );
        assert_eq!(
            cookie_token(&headers, "offline_ui_7531"),
            Some("tok".into())
        );
        assert_eq!(cookie_token(&headers, "offline_ui_1"), None);
    }
}
