// The backend contract avatar-cache speaks: GET {apiBase}/user/{userId}. Users 1–8 have a picture
// in public/avatars/; every ninth has none.
export async function GET(request: Request, { params }: { params: Promise<{ userId: string }> }) {
  const { userId } = await params;
  const origin = `http://${request.headers.get("host")}`;
  const n = Number(userId);
  if (!Number.isInteger(n) || n < 1 || n % 9 === 0 || n > 8) {
    return Response.json({ success: true, image_id: null, url: `${origin}/images/default_pfp.png`, user_id: userId });
  }
  return Response.json({ success: true, image_id: `img-${n}`, url: `${origin}/avatars/${n}.png`, user_id: userId });
}
