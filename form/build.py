"""Build the applicant's static site, one folder per area, from templates/form/ and each area's
policy: a start page (the area's own threshold, contacts, privacy notice, timescales) and the
form, with its stylesheet and script. Host each folder anywhere (S3, the council's CMS).

    python -m form.build --api-url https://<api>/api --site-url https://forms.example.gov.uk --out build/form

Without JavaScript the form posts to the API, which answers with the next page; with it, the
script sends JSON and shows errors and the confirmation in place."""
from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from chalicelib import wiring  # noqa: E402
from chalicelib.form import page_context  # noqa: E402
from chalicelib.resources import templates_dir  # noqa: E402


def build(out: Path, *, api_url: str, site_url: str) -> list[Path]:
    renderer = wiring.renderer()
    written = []
    for area_id, policy in sorted(wiring.policies().items()):
        folder = out / area_id
        (folder / "assets").mkdir(parents=True, exist_ok=True)
        context = page_context(policy, api_url=api_url, site_url=site_url)
        pages = {
            "index.html": renderer.render_form_page("start", {**context, "apply_url": "apply.html"}),
            "apply.html": renderer.render_form_page("apply", {
                **context, "values": {}, "errors": [], "error_for": {}, "error_anchor": {}, "incident_rows": 1,
                # The script replaces this per visit; without it, the check page carries the one the API makes.
                "idempotency_key": ""}),
        }
        for name, html in pages.items():
            (folder / name).write_text(html, encoding="utf-8")
            written.append(folder / name)
        # One stylesheet: the look shared with the partner pages, then the form's own rules.
        css = (templates_dir() / "pages" / "partner.css").read_text(encoding="utf-8")
        css += "\n" + (templates_dir() / "form" / "form.css").read_text(encoding="utf-8")
        (folder / "assets" / "form.css").write_text(css, encoding="utf-8")
        shutil.copyfile(templates_dir() / "form" / "form.js", folder / "assets" / "form.js")
        written += [folder / "assets" / "form.css", folder / "assets" / "form.js"]
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--api-url", required=True)
    parser.add_argument("--site-url", required=True, help="where the folders will be hosted (for asset URLs and CSP)")
    parser.add_argument("--out", default=str(REPO / "build" / "form"))
    args = parser.parse_args()
    written = build(Path(args.out), api_url=args.api_url, site_url=args.site_url)
    print(f"built {len(written)} files into {args.out}")


if __name__ == "__main__":
    main()
