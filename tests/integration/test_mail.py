"""Transactional email's rendering: the subject and text as written, the HTML escaped."""

from integration.mail import render_email


def test_a_title_with_markup_characters_reads_as_written_in_the_subject_and_text_and_is_escaped_in_html():
    title = "Ethics & Law: <Tom's> \"Course\""
    subject, text, html = render_email(template="lms_enrollment_active",
                                       context={"title": title, "course_url": "https://lms.example.com/c/1/"})
    assert subject == f"You are enrolled in {title}"
    assert title in text
    assert "&amp;" not in text and "&#x27;" not in text
    assert "Ethics &amp; Law: &lt;Tom&#x27;s&gt;" in html
    assert "<Tom's>" not in html
