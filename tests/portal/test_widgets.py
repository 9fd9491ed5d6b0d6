"""The portal's own widgets render what Django's would."""

from django import forms

from keyledger.portal.forms.widgets import LongSelect


class Picker(forms.Form):
    msp = forms.ChoiceField(required=False, widget=LongSelect)
    same = forms.ChoiceField(required=False)


CHOICES = [("", "All MSPs"), ("7", "Acme & Sons <IT>"), ("12", "Bluebird")]


def test_a_long_select_marks_the_chosen_option_and_escapes_names():
    form = Picker({"msp": "12", "same": "12"})
    form.fields["msp"].choices = form.fields["same"].choices = CHOICES
    html = str(form["msp"])
    assert '<select name="msp" id="id_msp">' in html
    assert '<option value="12" selected>Bluebird</option>' in html
    assert '<option value="7">Acme &amp; Sons &lt;IT&gt;</option>' in html
    assert html.count("selected") == 1


def test_a_long_select_offers_the_same_options_as_djangos_select():
    form = Picker({"msp": "7", "same": "7"})
    form.fields["msp"].choices = form.fields["same"].choices = CHOICES

    def options(html: str) -> list[str]:
        return [line.strip() for line in html.splitlines() if line.strip().startswith("<option")]

    assert options(str(form["msp"])) == options(str(form["same"]).replace('name="same"', 'name="msp"'))
