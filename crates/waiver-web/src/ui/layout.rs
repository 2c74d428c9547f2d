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
                                li { a href="/utilisation" { (ctx.t("nav.utilisation")) } }
                                @if matches!(role, Some(Role::Applicant | Role::Officer | Role::Customs)) {
                                    li { a href="/refunds" { (ctx.t("nav.refunds")) } }
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

/// One bar of a [`bar_chart`]: its CSS class (the colour), its value (any exact integer unit,
/// scaled against the chart's largest) and the figure printed beside it, already formatted for
/// the locale.
pub struct Bar {
    pub class: &'static str,
    pub value: i64,
    pub text: String,
}

/// A horizontal bar chart drawn on the server (SVG, no script, no inline style): one group per
/// row label, one bar per series in the group, the figure beside each bar. The chart is an
/// image with a name (`aria-label` and `<title>`); the table the page shows next to it is its
/// text alternative, and `desc` says so.
pub fn bar_chart(label: &str, desc: &str, groups: &[(String, Vec<Bar>)]) -> Markup {
    const BAR: usize = 3;
    const GAP: usize = 2;
    let max = groups
        .iter()
        .flat_map(|(_, bars)| bars.iter().map(|b| b.value))
        .max()
        .unwrap_or(1)
        .max(1);
    // Bars start at x = 34 (room for labels such as "Returned for amendment") and are at most
    // 44 wide, leaving room for the figure.
    // Tenths of a unit, exact: the bar's width, and where its figure starts.
    let tenths = |v: i64| i128::from(v.clamp(0, max)) * 440 / i128::from(max);
    let dec = |t: i128| format!("{}.{}", t / 10, t % 10);
    let mut y = 0usize;
    let mut rows = Vec::with_capacity(groups.len());
    for (name, bars) in groups {
        rows.push((y, name, bars));
        y += bars.len().max(1) * BAR + GAP;
    }
    html! {
        svg.chart viewBox=(format!("0 0 100 {}", y.max(1))) role="img" aria-label=(label) {
            title { (label) }
            desc { (desc) }
            @for (top, name, bars) in &rows {
                text.label x="0" y=(top + BAR - 1) font-size="2.4" { (name) }
                @for (i, b) in bars.iter().enumerate() {
                    @let by = top + i * BAR;
                    @let w = tenths(b.value);
                    rect class=(b.class) x="34" y=(format!("{by}.4")) width=(dec(w)) height="2.2" {}
                    text x=(dec(350 + w)) y=(by + 2) font-size="2.2" { (b.text) }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_scale_to_the_largest_and_carry_their_figures() {
        let bar = |class, value, text: &str| Bar {
            class,
            value,
            text: text.to_owned(),
        };
        let m = bar_chart(
            "plan",
            "the table",
            &[
                (
                    "2020-04".into(),
                    vec![bar("planned", 300, "300 t"), bar("imported", 150, "150 t")],
                ),
                ("2020-05".into(), vec![bar("planned", -5, "-5 t")]),
            ],
        )
        .into_string();
        assert!(m.contains("viewBox=\"0 0 100 13\""), "{m}");
        assert!(
            m.contains("<title>plan</title><desc>the table</desc>"),
            "{m}"
        );
        assert!(
            m.contains("<rect class=\"planned\" x=\"34\" y=\"0.4\" width=\"44.0\""),
            "{m}"
        );
        assert!(
            m.contains("<rect class=\"imported\" x=\"34\" y=\"3.4\" width=\"22.0\""),
            "{m}"
        );
        assert!(
            m.contains("x=\"57.0\" y=\"5\" font-size=\"2.2\">150 t<"),
            "{m}"
        );
        // A negative value draws no bar; its figure still shows.
        assert!(m.contains("width=\"0.0\"") && m.contains(">-5 t<"), "{m}");
    }
}
