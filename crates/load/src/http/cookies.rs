//! A virtual user's cookie jar, as k6 keeps one per user: what each origin
//! set with `Set-Cookie` is sent back to it in `Cookie`. Kept per origin of
//! the plan: `Domain`, `Path`, `Secure` and `Expires` are not applied;
//! `Max-Age` of 0 or less removes a cookie, as does an empty value with it.

/// Cookies of one user, per origin index.
#[derive(Clone, Debug, Default)]
pub struct CookieJar {
    by_origin: Vec<Vec<(String, String)>>,
}

impl CookieJar {
    /// Takes the `Set-Cookie` values of a response from `origin`.
    pub fn store(&mut self, origin: usize, set_cookies: &[String]) {
        if set_cookies.is_empty() {
            return;
        }
        if self.by_origin.len() <= origin {
            self.by_origin.resize(origin + 1, Vec::new());
        }
        let jar = &mut self.by_origin[origin];
        for line in set_cookies {
            let mut parts = line.split(';');
            let Some((name, value)) = parts.next().and_then(|p| p.split_once('=')) else {
                continue;
            };
            let (name, value) = (name.trim(), value.trim().trim_matches('"'));
            if name.is_empty() {
                continue;
            }
            let expired = parts.any(|a| {
                a.split_once('=').is_some_and(|(k, v)| {
                    k.trim().eq_ignore_ascii_case("max-age")
                        && v.trim().parse::<i64>().is_ok_and(|n| n <= 0)
                })
            });
            jar.retain(|(n, _)| n != name);
            if !expired {
                jar.push((name.to_string(), value.to_string()));
            }
        }
    }

    /// The `Cookie` header value for `origin`, if it set any.
    pub fn header(&self, origin: usize) -> Option<String> {
        let jar = self.by_origin.get(origin)?;
        if jar.is_empty() {
            return None;
        }
        Some(
            jar.iter()
                .map(|(n, v)| format!("{n}={v}"))
                .collect::<Vec<_>>()
                .join("; "),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_replace_expire_and_send_per_origin() {
        let mut j = CookieJar::default();
        assert_eq!(j.header(0), None);
        j.store(
            1,
            &[
                "session=abc; Path=/; HttpOnly".into(),
                "theme=\"dark\"".into(),
            ],
        );
        assert_eq!(j.header(0), None, "another origin's cookies stay there");
        assert_eq!(j.header(1).as_deref(), Some("session=abc; theme=dark"));
        j.store(1, &["session=def".into()]);
        assert_eq!(j.header(1).as_deref(), Some("theme=dark; session=def"));
        j.store(1, &["theme=; Max-Age=0".into(), "broken".into()]);
        assert_eq!(j.header(1).as_deref(), Some("session=def"));
    }
}
