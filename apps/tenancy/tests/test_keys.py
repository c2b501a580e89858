from apps.tenancy import keys


def test_a_generated_key_has_a_visible_prefix_and_a_hash_of_the_whole_key():
    generated = keys.generate_key()

    assert keys.is_well_formed(generated.plaintext)
    assert generated.plaintext.startswith(generated.prefix + "_")
    assert len(generated.prefix) == 12
    assert generated.key_hash == keys.hash_key(generated.plaintext)
    assert generated.plaintext not in generated.key_hash


def test_generated_keys_do_not_repeat():
    assert len({keys.generate_key().plaintext for _ in range(500)}) == 500


def test_it_rejects_shapes_that_are_not_keys():
    assert not keys.is_well_formed("cat_abc")
    assert not keys.is_well_formed("cat_ABCDEFGH_" + "a" * 40)  # the id part is lowercase
    assert not keys.is_well_formed("cat_abcdefgh_" + "a" * 39 + "'")
    assert not keys.is_well_formed("cat_abcdefgh_" + "a" * 40 + "\n")
