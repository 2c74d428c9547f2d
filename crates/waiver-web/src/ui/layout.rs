//! The page shell (header, navigation by role, language switch, footer) and shared fragments.
//! Pages carry no inline script or style, so the Content-Security-Policy can forbid both.

use maud::{html, Markup, DOCTYPE};
use waiver_domain::accounts::Role;
use waiver_store::User;

use super::i18n::Lang;

/// What every page knows about the request.
pub struct Ctx {
    pub lang: Lang,
    pub user: Option<User>,
    /// The double-submit token forms carry (also in the `waiver_csrf` cookie).
    pub csrf: String,
    /// The path and query of this page without `lang`, for the language switch.
    pub here: String,
}

impl Ctx {
    pub fn t(&self, key: &str) -> String {
        self.lang.t(key)
    }
    pub fn role(&self) -> Option<Role> {
        self.user.as_ref().map(|u| u.role)
    }
    fn switch_href(&self) -> String {
        let other = match self.lang {
            Lang::En => Lang::Zh,
            Lang::Zh => Lang::En,
        };
        let sep = if self.here.contains('?') { '&' } else { '?' };
        format!("{}{sep}lang={}", self.here, other.param())
    }
}

pub fn page(ctx: &Ctx, title: &str, body: Markup) -> Markup {
    page_with_script(ctx, title, body, None)
}

/// A page that loads one of our own scripts (served from this origin, so the CSP's
/// `script-src 'self'` holds; never inline). The page must work without it.
pub fn page_with_script(ctx: &Ctx, title: &str, body: Markup, script: Option<&str>) -> Markup {
    let role = ctx.role();
    html! {
        (DOCTYPE)
        html lang=(ctx.lang.code()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " — " (ctx.t("app.name")) }
                link rel="stylesheet" href="/assets/waiver.css";
                @if let Some(src) = script { script src=(src) defer {} }
            }
            body {
                a.skip href="#content" { (ctx.t("nav.skip")) }
                header {
                    div.bar {
                        a.brand href="/" { (ctx.t("app.name")) }
                        nav aria-label="main" {
                            ul {
                                li { a href="/tariff" { (ctx.t("nav.tariff")) } }
                                li { a href="/register" { (ctx.t("nav.register")) } }
                                li { a href="/scenarios" { (ctx.t("nav.scenarios")) } }
                                li { a href="/landed-cost" { (ctx.t("nav.landed")) } }
                                @if matches!(role, Some(Role::Applicant | Role::Expert | Role::Officer | Role::Admin)) {
                                    li { a href="/applications" { (ctx.t("nav.applications")) } }
                                }
                                @if matches!(role, Some(Role::Applicant | Role::Officer | Role::Customs | Role::Admin)) {
                                    li { a href="/allowances" { (ctx.t("nav.allowances")) } }
                                }
                                @if role == Some(Role::Customs) {
                                    li { a href="/declarations/new" { (ctx.t("nav.declare")) } }
                                }
                                @if matches!(role, Some(Role::Officer | Role::Analyst | Role::Admin)) {
                                    li { a href="/programmes/CN-2020-MKT/sla" { (ctx.t("nav.sla")) } }
                                }
                                @if matches!(role, Some(Role::Officer | Role::Customs | Role::Analyst | Role::Admin)) {
                                    li { a href="/utilisation" { (ctx.t("nav.utilisation")) } }
                                }
                                @if role == Some(Role::Officer) {
                                    li { a href="/programmes" { (ctx.t("nav.programmes")) } }
                                }
                                @if role == Some(Role::Expert) {
                                    li { a href="/queue" { (ctx.t("nav.queue")) } }
                                }
                                @if role.is_some() {
                                    li { a href="/notifications" { (ctx.t("nav.notifications")) } }
                                }
                                li { a href=(ctx.switch_href()) hreflang=(match ctx.lang { Lang::En => "zh-Hans", Lang::Zh => "en" }) { (ctx.t("nav.language")) } }
                                @if ctx.user.is_some() {
                                    li {
                                        form method="post" action="/sign-out" {
                                            input type="hidden" name="csrf" value=(ctx.csrf);
                                            button type="submit" { (ctx.t("nav.sign_out")) }
                                        }
                                    }
                                } @else {
                                    li { a href="/sign-in" { (ctx.t("nav.sign_in")) } }
                                }
                            }
                        }
                    }
                }
                main id="content" {
                    h1 { (title) }
                    (body)
                }
                footer { div.bar { (ctx.t("app.tagline")) } }
            }
        }
    }
}

/// A horizontal bar: used and remaining of a ceiling (an allowance's balance at a glance).
pub fn balance_bar(label: &str, used_g: i64, ceiling_g: i64) -> Markup {
    let total = ceiling_g.max(used_g).max(1);
    let permille = i128::from(used_g.clamp(0, total)) * 1000 / i128::from(total);
    let used_w = format!("{}.{}", permille / 10, permille % 10);
    html! {
        svg.bar viewBox="0 0 100 10" preserveAspectRatio="none" role="img" aria-label=(label) {
            rect.left x="0" y="0" width="100" height="10" {}
            rect.used x="0" y="0" width=(used_w) height="10" {}
        }
    }
}
