"""A/B tests of batch campaigns: variants, their assignment in SQL, the comparison, the winner."""
