"""What a person sees: the receipt PDF now; the HTML pages of §6 later."""
