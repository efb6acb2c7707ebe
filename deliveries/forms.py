from django import forms

from connector.models import IntercomWorkspace
from deliveries.models import Action, Delivery

# Rules live above deliveries: the filter reaches them through the delivery's own foreign key.
_Rule = Delivery._meta.get_field("rule").related_model


class DeliveryFilterForm(forms.Form):
    status = forms.ChoiceField(choices=[("", "Any status"), *Delivery.Status.choices], required=False)
    source = forms.ChoiceField(choices=[("", "Any source"), *Delivery.Source.choices], required=False)
    action = forms.ChoiceField(choices=[("", "Any action"), *Action.choices], required=False)
    rule = forms.ModelChoiceField(queryset=_Rule.objects.order_by("name"), required=False,
                                  empty_label="Any rule")
    workspace = forms.ModelChoiceField(queryset=IntercomWorkspace.objects.order_by("name"), required=False,
                                       empty_label="Any workspace")
    issue = forms.CharField(required=False, max_length=64, widget=forms.TextInput(attrs={"placeholder": "SUP-123"}))
