def test_favicon_is_served_not_a_404(client, db):
    response = client.get("/favicon.ico")

    assert response.status_code == 200
    assert response["Content-Type"] == "image/x-icon"
    assert "max-age=86400" in response["Cache-Control"]
    assert b"".join(response.streaming_content).startswith(b"\x00\x00\x01\x00")  # an ICO header
